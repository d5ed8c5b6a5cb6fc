# RDS for MySQL 8.0: private, encrypted, never publicly accessible, with automated backups. The
# service's user is the master user (the application creates its database and schema at start).

locals {
  db_identifier = "${local.name}-db"
  db_port       = 3306
  db_name       = "service_monitor"
  db_user       = "service_monitor"
  # Log types exported to CloudWatch Logs, each into a log group created below.
  db_log_exports = ["error", "slowquery"]
}

resource "aws_db_subnet_group" "main" {
  name        = local.name
  description = "${local.name}: the private subnets"
  subnet_ids  = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "main" {
  name        = "${local.name}-mysql8"
  description = "${local.name}: slow queries logged"
  family      = "mysql8.0"

  parameter {
    name  = "slow_query_log"
    value = "1"
  }

  parameter {
    name  = "long_query_time"
    value = "2"
  }
}

resource "aws_db_instance" "main" {
  #checkov:skip=CKV_AWS_161:The application logs in with a user and password (asyncmy); IAM database authentication would need a token refresh in the driver that it does not have.
  #checkov:skip=CKV_AWS_157:Multi-AZ is the db_multi_az variable, off by default for cost (it doubles the database's price); automated backups with point-in-time recovery cover the loss of the instance.
  #checkov:skip=CKV_AWS_353:Performance Insights is not available on the default db.t4g.micro class.
  #checkov:skip=CKV2_AWS_69:require_secure_transport would refuse the application's connections: it connects without TLS today (asyncmy with no ssl context; a DB_TLS setting is a follow-up). The database is reachable only from the tasks' security groups inside the VPC.
  #checkov:skip=CKV_AWS_354:Performance Insights is off (see CKV_AWS_353), so there is nothing for its key to encrypt.
  identifier     = local.db_identifier
  engine         = "mysql"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.main.arn

  db_name              = local.db_name
  username             = local.db_user
  password_wo          = ephemeral.random_password.db.result
  password_wo_version  = var.db_password_version
  port                 = local.db_port
  parameter_group_name = aws_db_parameter_group.main.name

  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = var.db_multi_az

  backup_retention_period    = var.db_backup_retention_days
  backup_window              = "03:00-04:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = false
  final_snapshot_identifier  = "${local.db_identifier}-final"

  enabled_cloudwatch_logs_exports = local.db_log_exports
  monitoring_interval             = 60
  monitoring_role_arn             = aws_iam_role.rds_monitoring.arn

  depends_on = [aws_cloudwatch_log_group.db]
}

# Created here rather than by RDS, so they have a retention and are encrypted.
resource "aws_cloudwatch_log_group" "db" {
  for_each = toset(local.db_log_exports)

  name              = "/aws/rds/instance/${local.db_identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}
