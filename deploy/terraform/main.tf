# One EC2 instance running the bot's container: keys from Secrets Manager (read by the
# instance at every start, never in the Terraform state), the bot's /metrics scraped and its
# log file shipped by the CloudWatch agent, no inbound traffic (a shell through SSM Session
# Manager), IMDSv2 only, an encrypted root volume. README.md says how to use it.

data "aws_region" "current" {}
data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

data "aws_ssm_parameter" "al2023" {
  count = var.ami_id == null ? 1 : 0
  name  = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

locals {
  region            = data.aws_region.current.name
  account_id        = data.aws_caller_identity.current.account_id
  partition         = data.aws_partition.current.partition
  log_group         = "/${var.name}/bot"
  metrics_log_group = "/${var.name}/prometheus"
  bot_config        = coalesce(var.bot_config, file("${path.module}/bitunix-bot.toml"))
  tags              = merge(var.tags, { Name = var.name, "app" = "bitunix-bot" })

  user_data = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    ecr        = var.ecr_repository_arn != null
    config_b64 = base64encode(local.bot_config)
    env_script_b64 = base64encode(templatefile("${path.module}/templates/bitunix-bot-env.sh.tftpl", {
      region             = local.region
      secret_arn         = aws_secretsmanager_secret.api_keys.arn
      force_live_trading = var.force_live_trading
    }))
    unit_b64 = base64encode(templatefile("${path.module}/templates/bitunix-bot.service.tftpl", {
      image        = var.image
      metrics_port = var.metrics_port
    }))
    prometheus_b64 = base64encode(templatefile("${path.module}/templates/prometheus.yaml.tftpl", {
      name         = var.name
      metrics_port = var.metrics_port
    }))
    agent_b64 = base64encode(templatefile("${path.module}/templates/cloudwatch-agent.json.tftpl", {
      region            = local.region
      log_group         = aws_cloudwatch_log_group.bot.name
      metrics_log_group = aws_cloudwatch_log_group.metrics.name
      metrics_namespace = var.metrics_namespace
    }))
  })
}

# --- encryption key: the secret, the log groups and the root volume -----------------------

data "aws_iam_policy_document" "kms" {
  # In a key policy "Resource": "*" means this key alone, and "kms:*" for the account root
  # is AWS's default key policy, which lets IAM policies (not this document) grant access.
  #checkov:skip=CKV_AWS_111:A key policy: "*" is the key itself; the account root statement is AWS's default, which delegates to IAM.
  #checkov:skip=CKV_AWS_356:A key policy: "*" is the key itself, there is no other resource to name.
  #checkov:skip=CKV_AWS_109:A key policy: the account root statement is AWS's default, which delegates to IAM; without it the key is unmanageable.
  # The account administers the key through IAM (the instance role gets Decrypt only, via
  # Secrets Manager, in its own policy below).
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts the bot's two log groups with it, and nothing else.
  statement {
    sid       = "CloudWatchLogsEncrypts"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/${var.name}/*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: the API-key secret, the log groups and the root volume"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# --- the API keys ----------------------------------------------------------------------------

# The secret holds {"BITUNIX_API_KEY": "...", "BITUNIX_API_SECRET": "..."}. The module
# creates the secret only, never a version: the value is put in out of band
# (`aws secretsmanager put-secret-value`, README.md), so it is never in the state.
resource "aws_secretsmanager_secret" "api_keys" {
  #checkov:skip=CKV2_AWS_57:Exchange API keys are created in the exchange's web interface; no rotation Lambda can make new ones. Rotate them by hand (README.md, docs/operations.md).
  name                    = "${var.name}/api-keys"
  description             = "Bitunix API keys of ${var.name}: JSON {\"BITUNIX_API_KEY\": ..., \"BITUNIX_API_SECRET\": ...}"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 30
  tags                    = local.tags
}

# --- logs and metrics ------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "bot" {
  name              = local.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

# The agent's Prometheus scrape lands here as embedded-metric-format events, from which
# CloudWatch extracts the metrics into var.metrics_namespace.
resource "aws_cloudwatch_log_group" "metrics" {
  name              = local.metrics_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = local.tags
}

# --- the instance's identity: least privilege ------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "bot" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "bot" {
  # Read this one secret, and decrypt it only through Secrets Manager.
  statement {
    sid       = "ReadApiKeys"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.api_keys.arn]
  }
  statement {
    sid       = "DecryptApiKeys"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
  # The CloudWatch agent: log streams and events in the bot's two log groups only.
  statement {
    sid     = "ShipLogsAndMetrics"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [
      "${aws_cloudwatch_log_group.bot.arn}:*",
      "${aws_cloudwatch_log_group.metrics.arn}:*",
    ]
  }

  dynamic "statement" {
    for_each = var.ecr_repository_arn == null ? [] : [var.ecr_repository_arn]
    content {
      sid       = "PullImage"
      actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "bot" {
  name   = "${var.name}-bot"
  role   = aws_iam_role.bot.id
  policy = data.aws_iam_policy_document.bot.json
}

# ecr:GetAuthorizationToken has no resource-level permissions: AWS allows only "*" for it.
resource "aws_iam_role_policy" "ecr_token" {
  count = var.ecr_repository_arn == null ? 0 : 1
  name  = "${var.name}-ecr-token"
  role  = aws_iam_role.bot.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "EcrLogin"
      Effect   = "Allow"
      Action   = ["ecr:GetAuthorizationToken"]
      Resource = "*"
    }]
  })
}

# A shell through SSM Session Manager instead of SSH: no inbound port, every session logged
# by CloudTrail.
resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.bot.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "bot" {
  name = var.name
  role = aws_iam_role.bot.name
  tags = local.tags
}

# --- network: nothing inbound, HTTPS outbound --------------------------------------------------

resource "aws_security_group" "bot" {
  name        = var.name
  description = "${var.name}: no inbound traffic; HTTPS out to the exchange, the registry and AWS"
  vpc_id      = var.vpc_id
  tags        = local.tags

  # No ingress block: the dashboard and /metrics listen on the instance's loopback only,
  # and the shell is SSM Session Manager (outbound HTTPS from the SSM agent).
  egress {
    description = "HTTPS: the Bitunix REST and WebSocket APIs, the image registry, Secrets Manager, CloudWatch, SSM, the OS packages"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.egress_cidrs
  }
}

# --- the instance ---------------------------------------------------------------------------------

resource "aws_instance" "bot" {
  ami                         = coalesce(var.ami_id, try(nonsensitive(data.aws_ssm_parameter.al2023[0].value), null))
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.bot.id]
  iam_instance_profile        = aws_iam_instance_profile.bot.name
  associate_public_ip_address = false
  ebs_optimized               = true
  monitoring                  = true
  # gzip: EC2 takes 16 KiB of user data, and a larger bot_config must still fit (cloud-init
  # unpacks it).
  user_data_base64            = base64gzip(local.user_data)
  user_data_replace_on_change = true

  # IMDSv2 only, one hop: the host reads its role's credentials; the container (one hop
  # further behind Docker's bridge, were it on one) could not.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size_gb
    encrypted             = true
    kms_key_id            = aws_kms_key.this.arn
    delete_on_termination = true
  }

  tags        = local.tags
  volume_tags = local.tags

  lifecycle {
    # A new AMI in the SSM parameter must not replace a trading instance by itself.
    ignore_changes = [ami]
  }
}
