# /metrics through the internet-facing load balancer: only from metrics_allowed_cidrs (your
# Prometheus), a 403 from anywhere else; the API's operational counters are not for the public.

locals {
  serving_listener_arn = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
}

resource "aws_lb_listener_rule" "metrics_allowed" {
  count = length(var.metrics_allowed_cidrs) > 0 ? 1 : 0

  listener_arn = local.serving_listener_arn
  priority     = 10

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }

  condition {
    path_pattern {
      values = ["/metrics"]
    }
  }

  condition {
    source_ip {
      values = var.metrics_allowed_cidrs
    }
  }
}

resource "aws_lb_listener_rule" "metrics_denied" {
  listener_arn = local.serving_listener_arn
  priority     = 11

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      message_body = jsonencode({ detail = "/metrics is not served to this address; see metrics_allowed_cidrs" })
      status_code  = "403"
    }
  }

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }
}
