variable "name" {
  description = "Name of the bot's resources (instance, role, secret, log group, security group) and the Name tag."
  type        = string
  default     = "bitunix-bot"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name: 3 to 32 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "vpc_id" {
  description = "The VPC of the instance's security group."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id: a VPC id such as vpc-0123456789abcdef0."
  }
}

variable "subnet_id" {
  description = "A private subnet with a route out (NAT gateway) to the exchange, the container registry and the AWS APIs; the instance gets no public address."
  type        = string

  validation {
    condition     = can(regex("^subnet-[0-9a-f]{8,17}$", var.subnet_id))
    error_message = "subnet_id: a subnet id such as subnet-0123456789abcdef0."
  }
}

variable "image" {
  description = "The bot's container image (built from the repository's Dockerfile), pinned by digest: registry/repository@sha256:<64 hex>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image: a reference pinned by digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/bitunix-bot@sha256:<64 hex digits>."
  }
}

variable "bot_config" {
  description = "The bot's TOML config, written to /etc/bitunix-bot/bitunix-bot.toml. null: the module's bitunix-bot.toml (the real exchange, dry-run, logs to /var/log/bitunix-bot/bot.log). Never put keys here: they come from the secret."
  type        = string
  default     = null

  validation {
    condition     = var.bot_config == null || !can(regex("(?im)^\\s*(api_key|api_secret|secret_key)\\s*=", coalesce(var.bot_config, "x")))
    error_message = "bot_config: holds an API key or secret; keys come only from the Secrets Manager secret."
  }
}

variable "force_live_trading" {
  description = "Put FORCE_LIVE_TRADING=true in the bot's environment. Orders reach the exchange only when this is true AND the config says dry_run = false."
  type        = bool
  default     = false
}

variable "metrics_port" {
  description = "The port of the bot's /metrics on the instance's loopback: http.port in the bot's config (8787 by default). The CloudWatch agent scrapes 127.0.0.1:<port>/metrics."
  type        = number
  default     = 8787

  validation {
    condition     = var.metrics_port >= 1024 && var.metrics_port <= 65535 && floor(var.metrics_port) == var.metrics_port
    error_message = "metrics_port: an integer from 1024 to 65535."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the agent puts the bot's Prometheus metrics in (extracted from embedded-metric-format log events; the instance needs no cloudwatch:PutMetricData)."
  type        = string
  default     = "BitunixBot"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace: 1 to 255 of A-Z a-z 0-9 . _ / # : -, not starting with AWS/."
  }
}

variable "ecr_repository_arn" {
  description = "The ECR repository of a private image: the instance may pull from it (and only it) with the ECR credential helper. null: the image is pulled without credentials."
  type        = string
  default     = null

  validation {
    condition     = var.ecr_repository_arn == null || can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/[a-z0-9._/-]+$", coalesce(var.ecr_repository_arn, "x")))
    error_message = "ecr_repository_arn: null or an ECR repository ARN such as arn:aws:ecr:eu-west-1:123456789012:repository/bitunix-bot."
  }
}

variable "instance_type" {
  description = "EC2 instance type. Two vCPUs are enough: one for the bot's event loop, one for everything else."
  type        = string
  default     = "t3.small"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type: an EC2 instance type such as t3.small or c7i.large."
  }
}

variable "ami_id" {
  description = "The AMI (Amazon Linux 2023, x86_64 or arm64 to match the image). null: the latest Amazon Linux 2023 x86_64 AMI from SSM's public parameter."
  type        = string
  default     = null

  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]{8,17}$", coalesce(var.ami_id, "x")))
    error_message = "ami_id: null or an AMI id such as ami-0123456789abcdef0."
  }
}

variable "root_volume_size_gb" {
  description = "Size of the encrypted root volume (the OS, the image, the SQLite store and the rotated logs), GiB."
  type        = number
  default     = 30

  validation {
    condition     = var.root_volume_size_gb >= 20 && var.root_volume_size_gb <= 1024 && floor(var.root_volume_size_gb) == var.root_volume_size_gb
    error_message = "root_volume_size_gb: an integer from 20 to 1024."
  }
}

variable "egress_cidrs" {
  description = "Where the instance may connect on TCP 443 (the exchange, the registry, the AWS APIs). The default allows any address: the exchange's addresses are not published."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.egress_cidrs) > 0 && alltrue([for c in var.egress_cidrs : can(cidrhost(c, 0))])
    error_message = "egress_cidrs: one or more IPv4 CIDR blocks such as 0.0.0.0/0 or 10.0.0.0/8."
  }
}

variable "log_retention_days" {
  description = "How long CloudWatch Logs keeps the bot's log lines and the scraped metrics' log events, days."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days: one of CloudWatch's values of a year or more: 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the module's KMS key is deleted after a destroy, days."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days: from 7 to 30."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) <= 128 && length(v) <= 256])
    error_message = "tags: keys up to 128 characters, values up to 256."
  }
}
