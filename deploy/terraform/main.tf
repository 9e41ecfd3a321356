# Vigil on one EC2 instance: an instance profile with exactly the statements
# `vigil iam-policy` prints for the config below (sns:Publish on this module's topic),
# the alert topic, and a security group that admits only the API port from the admin
# range. `vigil lint terraform deploy/terraform` passes clean.

resource "aws_sns_topic" "alerts" {
  name = "${var.name}-alerts"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# Exactly what `vigil iam-policy -c vigil.yaml` prints for an `sns` notifier on this
# topic. Regenerate it when the config gains AWS actions (ec2:RebootInstances, ...).
data "aws_iam_policy_document" "vigil" {
  statement {
    sid       = "VigilsnsPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }
}

resource "aws_iam_role" "vigil" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "vigil" {
  name   = var.name
  role   = aws_iam_role.vigil.id
  policy = data.aws_iam_policy_document.vigil.json
}

resource "aws_iam_instance_profile" "vigil" {
  name = var.name
  role = aws_iam_role.vigil.name
}

resource "aws_security_group" "vigil" {
  name        = var.name
  description = "Vigil: its API and UI from the admin range only; probes and notifications out"
  vpc_id      = var.vpc_id

  ingress {
    description = "API, UI, /metrics"
    from_port   = 9090
    to_port     = 9090
    protocol    = "tcp"
    cidr_blocks = [var.admin_cidr]
  }

  egress {
    description = "probes, SMTP, webhooks and AWS APIs"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "vigil" {
  ami                         = var.ami
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  associate_public_ip_address = false
  iam_instance_profile        = aws_iam_instance_profile.vigil.name
  vpc_security_group_ids      = [aws_security_group.vigil.id]

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    encrypted = true
  }

  user_data = templatefile("${path.module}/user-data.sh", {
    vigil_url = var.vigil_url
    config    = var.config
    topic_arn = aws_sns_topic.alerts.arn
  })

  tags = {
    Name = var.name
  }
}

output "topic_arn" {
  value = aws_sns_topic.alerts.arn
}

output "private_ip" {
  value = aws_instance.vigil.private_ip
}
