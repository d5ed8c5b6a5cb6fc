# The compute in "cycle" mode (scheduler_mode, the default): one Fargate task per cycle, started by
# an EventBridge rule every schedule_minutes (the image's command runs one cycle and exits). Two
# cycles never overlap: a cycle that finds the previous one still running skips at once (README
# "How a cycle works"). In "fleet" mode the rule is not created: fleet.tf's planner and workers
# probe instead, and the compute task definition stays for a cycle run by hand.

resource "aws_cloudwatch_event_rule" "compute" {
  count = local.fleet ? 0 : 1

  name                = "${local.name}-compute"
  description         = "Runs one compute cycle of ${local.name}"
  schedule_expression = var.schedule_minutes == 1 ? "rate(1 minute)" : "rate(${var.schedule_minutes} minutes)"
}

resource "aws_cloudwatch_event_target" "compute" {
  count = local.fleet ? 0 : 1

  rule     = aws_cloudwatch_event_rule.compute[0].name
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

# The rule and its target were single resources before scheduler_mode: a deployment made then keeps
# them (no destroy and re-create) when it applies this.
moved {
  from = aws_cloudwatch_event_rule.compute
  to   = aws_cloudwatch_event_rule.compute[0]
}

moved {
  from = aws_cloudwatch_event_target.compute
  to   = aws_cloudwatch_event_target.compute[0]
}
