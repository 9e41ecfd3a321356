# The stack from the incident: a Flask app on port 5000 behind an ALB that no client
# can reach. `vigil lint terraform examples/terraform/broken` says why; `../fixed` is
# the same service done right.

variable "app_port" {
  default = 5000
}

resource "aws_default_vpc" "default" {}

resource "aws_default_subnet" "a" {
  availability_zone = "eu-west-1a"
}

resource "aws_default_subnet" "b" {
  availability_zone = "eu-west-1b"
}

# One group for the load balancer and the instance, allowing only port 80.
resource "aws_security_group" "web" {
  name   = "web"
  vpc_id = aws_default_vpc.default.id

  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_lb" "app" {
  name               = "app"
  load_balancer_type = "application"
  security_groups    = [aws_security_group.web.id]
  subnets            = [aws_default_subnet.a.id, aws_default_subnet.b.id]
}

resource "aws_lb_target_group" "app" {
  name     = "app"
  port     = var.app_port
  protocol = "HTTP"
  vpc_id   = aws_default_vpc.default.id

  health_check {
    path    = "/health"
    matcher = "200"
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.app.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}

# No user_data: nothing installs or starts the app.
resource "aws_instance" "app" {
  ami                         = "ami-0123456789abcdef0"
  instance_type               = "t3.micro"
  subnet_id                   = aws_default_subnet.a.id
  associate_public_ip_address = true
  vpc_security_group_ids      = [aws_security_group.web.id]
}

resource "aws_lb_target_group_attachment" "app" {
  target_group_arn = aws_lb_target_group.app.arn
  target_id        = aws_instance.app.id
  port             = var.app_port
}
