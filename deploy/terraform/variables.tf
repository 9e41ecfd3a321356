variable "name" {
  description = "Name prefix of every resource."
  default     = "vigil"
}

variable "vpc_id" {
  description = "The VPC Vigil runs in."
}

variable "subnet_id" {
  description = "A private subnet (outbound through NAT): Vigil needs no inbound traffic from the internet."
}

variable "ami" {
  description = "An AMI with systemd (Debian 12, Amazon Linux 2023)."
}

variable "instance_type" {
  default = "t3.small"
}

variable "admin_cidr" {
  description = "Who may reach Vigil's API, UI and /metrics on port 9090 (your VPN or office range)."
  default     = "10.0.0.0/8"
}

variable "vigil_url" {
  description = "Where user data downloads the vigil binary from (a release artifact or your bucket)."
}

variable "config" {
  description = "The vigil.yaml to run (secrets as $${VAR}, supplied through SSM or the environment file)."
}
