# The workers of one extra region (README "Deploying a fleet"): `service-monitor worker` on Fargate,
# REGION = this region's name, reading this region's shard stream on the primary region's Redis and
# writing checks to the primary region's database, over the network path (network_path) built
# beforehand. Only the workers run here: the API, the planner, the database and the cache stay in the
# primary region. Every setting but REGION is the primary's (the drift test checks this module too).

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  region = data.aws_region.current.region
  name   = "${var.name}-${local.region}"

  # The primary's settings with REGION changed, and nothing else.
  app_environment       = merge(var.app_environment, { REGION = local.region })
  container_environment = [for name, value in local.app_environment : { name = name, value = value } if value != ""]
  container_secrets     = [for name, arn in var.app_secrets : { name = name, valueFrom = arn }]

  tags = { NetworkPath = var.network_path }
}

# -- the log group, encrypted with a key of this region (a KMS key serves one region only) --

resource "aws_kms_key" "logs" {
  description             = "${local.name}: the workers' logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key only; the account root statement is what lets IAM policies grant use of the key at all (AWS's default key policy).
  #checkov:skip=CKV_AWS_111:As above: in a key policy "*" is this key, and write access is limited to the account's own IAM principals.
  #checkov:skip=CKV_AWS_356:As above: in a key policy "*" is this key.
  statement {
    sid       = "AccountIAMPolicies"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogs"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${local.region}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = "/ecs/${var.name}/worker"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn
}

# -- roles: ECS's execution role for this region; the containers get a role with no permission --

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  description        = "ECS in ${local.region}: pull the compute image, write the workers' logs, read the secrets of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken takes no resource
  }

  statement {
    sid = "PullImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [var.compute_repository_arn]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.worker.arn}:*"]
  }

  statement {
    sid       = "ReadSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(var.app_secrets)
  }

  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.primary_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-log-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  description        = "The ${local.name} workers: no AWS permission (the application calls no AWS API)"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

# -- the workers' security group: nothing in; out to the database and the cache, and the probes --

resource "aws_security_group" "worker" {
  name        = "${local.name}-worker"
  description = "Workers: nothing in; out to the primary's MySQL and Redis and to the monitored URLs"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_egress_rule" "worker_to_db" {
  security_group_id = aws_security_group.worker.id
  description       = "MySQL in the primary region, over network_path"
  ip_protocol       = "tcp"
  from_port         = var.db_port
  to_port           = var.db_port
  cidr_ipv4         = var.primary_vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "worker_to_redis" {
  security_group_id = aws_security_group.worker.id
  description       = "Redis in the primary region, over network_path"
  ip_protocol       = "tcp"
  from_port         = var.redis_port
  to_port           = var.redis_port
  cidr_ipv4         = var.primary_vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "worker_to_targets" {
  #checkov:skip=CKV_AWS_382:The workers' job is probing user-given URLs, which may name any host and TCP port; the application refuses internal addresses itself (ALLOW_PRIVATE_TARGETS).
  security_group_id = aws_security_group.worker.id
  description       = "The monitored URLs (any host, any TCP port) and AWS APIs, through NAT"
  ip_protocol       = "tcp"
  from_port         = 1
  to_port           = 65535
  cidr_ipv4         = "0.0.0.0/0"
}

# -- the cluster, the task definition and the service --

resource "aws_ecs_cluster" "workers" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${local.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.worker_cpu
  memory                   = var.worker_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = "worker"
      image                  = var.image
      command                = ["service-monitor", "worker"]
      essential              = true
      readonlyRootFilesystem = true
      stopTimeout            = 30
      environment            = local.container_environment
      secrets                = local.container_secrets
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.worker.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "worker"
        }
      }
    }
  ])
}

resource "aws_ecs_service" "worker" {
  name             = "${local.name}-worker"
  cluster          = aws_ecs_cluster.workers.id
  task_definition  = aws_ecs_task_definition.worker.arn
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  desired_count    = var.worker_count
  propagate_tags   = "SERVICE"
  tags             = local.tags

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }
}
