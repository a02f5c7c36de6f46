output "instance_id" {
  description = "The instance running the bot: `aws ssm start-session --target <id>` for a shell."
  value       = aws_instance.bot.id
}

output "private_ip" {
  description = "The instance's private address (it has no public one)."
  value       = aws_instance.bot.private_ip
}

output "secret_arn" {
  description = "The Secrets Manager secret to put the API keys in (a JSON object with BITUNIX_API_KEY and BITUNIX_API_SECRET)."
  value       = aws_secretsmanager_secret.api_keys.arn
}

output "kms_key_arn" {
  description = "The KMS key encrypting the secret, the log groups and the root volume."
  value       = aws_kms_key.this.arn
}

output "log_group_name" {
  description = "CloudWatch Logs group of the bot's log lines (one stream per instance id)."
  value       = aws_cloudwatch_log_group.bot.name
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the bot's scraped Prometheus metrics."
  value       = var.metrics_namespace
}

output "security_group_id" {
  description = "The instance's security group (no inbound rule)."
  value       = aws_security_group.bot.id
}

output "role_name" {
  description = "The instance's IAM role (the secret, the two log groups, SSM)."
  value       = aws_iam_role.bot.name
}
