# The fleet of probers (scheduler_mode = "fleet", README "Deploying a fleet"): the planner, a
# one-shot task that an EventBridge rule starts every minute, publishes the monitors due in the next
# minute as shards on a Redis stream per region; the worker service (service-monitor worker) reads
# its region's stream and probes them. Both run the compute image. Workers are scaled on the
# stream's lag, which the planner logs each minute as a CloudWatch Embedded Metric Format line: the
# awslogs driver ships it to CloudWatch Logs, which turns it into the metrics below. In "cycle" mode
# (the default) none of this exists and schedule.tf's compute rule runs the whole list instead.

locals {
  fleet = var.scheduler_mode == "fleet"
  # Every region the planner publishes shards for: this one, then the extra ones (regions.tf).
  regions = concat([var.aws_region], keys(var.extra_regions))

  worker_command  = ["service-monitor", "worker"]
  planner_command = ["service-monitor", "plan", "--once", "--emf"]

  # What the planner's EMF line is published as (namespace, metrics, the Region dimension).
  metrics_namespace = "ServiceMonitor"
  # The alarms' actions: the SNS topic when one is given.
  alarm_actions = var.alarm_topic_arn == "" ? [] : [var.alarm_topic_arn]
}

resource "aws_cloudwatch_log_group" "worker" {
  count = local.fleet ? 1 : 0

  name              = "/ecs/${local.name}/worker"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "planner" {
  count = local.fleet ? 1 : 0

  name              = "/ecs/${local.name}/planner"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_ecs_task_definition" "worker" {
  count = local.fleet ? 1 : 0

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
      image                  = local.compute_image
      command                = local.worker_command
      essential              = true
      readonlyRootFilesystem = true
      # After SIGTERM a worker stops taking shards and finishes or releases the one it holds within
      # SHUTDOWN_GRACE_SECONDS (20); a shard it never acknowledges is taken over by another worker.
      stopTimeout = 30
      environment = local.container_environment
      secrets     = local.container_secrets
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.worker[0].name
          awslogs-region        = var.aws_region
          awslogs-stream-prefix = "worker"
        }
      }
    }
  ])
}

resource "aws_ecs_task_definition" "planner" {
  count = local.fleet ? 1 : 0

  family                   = "${local.name}-planner"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.planner_cpu
  memory                   = var.planner_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = "planner"
      image                  = local.compute_image
      command                = local.planner_command
      essential              = true
      readonlyRootFilesystem = true
      stopTimeout            = 30
      environment            = local.container_environment
      secrets                = local.container_secrets
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.planner[0].name
          awslogs-region        = var.aws_region
          awslogs-stream-prefix = "planner"
        }
      }
    }
  ])
}

# -- the planner: every minute --

resource "aws_cloudwatch_event_rule" "planner" {
  count = local.fleet ? 1 : 0

  name                = "${local.name}-planner"
  description         = "Plans the next minute's probes of ${local.name} (the fleet's planner)"
  schedule_expression = "rate(1 minute)"
}

resource "aws_cloudwatch_event_target" "planner" {
  count = local.fleet ? 1 : 0

  rule     = aws_cloudwatch_event_rule.planner[0].name
  arn      = aws_ecs_cluster.main.arn
  role_arn = aws_iam_role.events.arn

  ecs_target {
    task_definition_arn = aws_ecs_task_definition.planner[0].arn
    task_count          = 1
    launch_type         = "FARGATE"
    platform_version    = "LATEST"

    network_configuration {
      subnets          = aws_subnet.private[*].id
      security_groups  = [aws_security_group.compute.id]
      assign_public_ip = false
    }
  }
}

# -- the workers: a service, scaled on the stream's lag --

resource "aws_ecs_service" "worker" {
  count = local.fleet ? 1 : 0

  name             = "${local.name}-worker"
  cluster          = aws_ecs_cluster.main.id
  task_definition  = aws_ecs_task_definition.worker[0].arn
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  desired_count    = var.worker_count
  propagate_tags   = "SERVICE"

  # A deployment starts the new workers before stopping old ones; no load balancer judges them, so a
  # task that exits (a bad image, an unreachable database after STARTUP_TIMEOUT) is what trips the
  # circuit breaker, which returns the service to the previous task definition.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.compute.id]
    assign_public_ip = false
  }

  lifecycle {
    # Autoscaling owns the running count once the service exists.
    ignore_changes = [desired_count]
  }
}

resource "aws_appautoscaling_target" "worker" {
  count = local.fleet ? 1 : 0

  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.worker[0].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.worker_count
  max_capacity       = var.worker_max_count
}

# Target tracking on the backlog per task (AWS's recipe for a queue): the region's ShardStreamLag
# divided by the worker tasks running (Container Insights' RunningTaskCount), kept at
# worker_lag_per_task. The lag alone would not do: it does not fall in proportion as tasks are added.
resource "aws_appautoscaling_policy" "worker_lag" {
  count = local.fleet ? 1 : 0

  name               = "${local.name}-worker-lag"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker[0].service_namespace
  resource_id        = aws_appautoscaling_target.worker[0].resource_id
  scalable_dimension = aws_appautoscaling_target.worker[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_lag_per_task
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    customized_metric_specification {
      metrics {
        id          = "lag_per_task"
        label       = "Shards waiting per worker task"
        expression  = "lag / IF(tasks > 0, tasks, 1)"
        return_data = true
      }

      metrics {
        id          = "lag"
        return_data = false

        metric_stat {
          stat = "Maximum"

          metric {
            namespace   = local.metrics_namespace
            metric_name = "ShardStreamLag"

            dimensions {
              name  = "Region"
              value = var.aws_region
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.main.name
            }

            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker[0].name
            }
          }
        }
      }
    }
  }
}

# -- alarms --

# A shard delivered MAX_DELIVERIES times without being acknowledged went to the dead-letter stream:
# its monitors were not probed in that slot. Someone should look (README "Deploying a fleet").
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  count = local.fleet ? 1 : 0

  alarm_name          = "${local.name}-shard-dead-letters"
  alarm_description   = "Shards of ${local.name} went to the dead-letter stream (delivered MAX_DELIVERIES times, never acknowledged)"
  namespace           = local.metrics_namespace
  metric_name         = "ShardDeadLetters"
  dimensions          = { Region = var.aws_region }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The planner logs its line every minute: five minutes without one means nothing is being planned,
# so nothing is probed (a failing task, a deleted rule), and the lag policy above sees no data.
resource "aws_cloudwatch_metric_alarm" "planner_silent" {
  count = local.fleet ? 1 : 0

  alarm_name          = "${local.name}-planner-silent"
  alarm_description   = "The planner of ${local.name} has logged no ShardStreamLag for 5 minutes: no probe is being planned"
  namespace           = local.metrics_namespace
  metric_name         = "ShardStreamLag"
  dimensions          = { Region = var.aws_region }
  statistic           = "SampleCount"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
