# One EC2 instance running the bot's container (deploy/terraform/README.md). A module: the
# caller configures the AWS provider (region, credentials).
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
  }
}
