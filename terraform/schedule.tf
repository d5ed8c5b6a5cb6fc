# The compute: one Fargate task per cycle, started by an EventBridge rule every schedule_minutes
# (the image's command runs one cycle and exits). Two cycles never overlap: a cycle that finds the
# previous one still running skips at once (README "How a cycle works").

resource "aws_cloudwatch_event_rule" "compute" {
  name                = "${local.name}-compute"
  description         = "Runs one compute cycle of ${local.name}"
  schedule_expression = var.schedule_minutes == 1 ? "rate(1 minute)" : "rate(${var.schedule_minutes} minutes)"
}

resource "aws_cloudwatch_event_target" "compute" {
  rule     = aws_cloudwatch_event_rule.compute.name
  arn      = aws_ecs_cluster.main.arn
  role_arn = aws_iam_role.events.arn

  ecs_target {
    task_definition_arn = aws_ecs_task_definition.compute.arn
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
