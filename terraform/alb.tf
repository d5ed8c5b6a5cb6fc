# The public Application Load Balancer in front of the API tasks. With a certificate: HTTPS on 443
# and HTTP on 80 redirecting to it; without: HTTP on 80 only. Targets are healthy while /status
# answers 200 (the database and the cache both answer).

locals {
  https = var.certificate_arn != ""
}

resource "aws_lb" "main" {
  #checkov:skip=CKV_AWS_91:Per-request access logs need an S3 bucket of their own; request counts, latencies and 5xx counts are in the load balancer's CloudWatch metrics, and the application logs every failure.
  #checkov:skip=CKV2_AWS_20:HTTP does redirect to HTTPS whenever a certificate is set (aws_lb_listener.http); without one (certificate_arn empty) there is no HTTPS to redirect to.
  #checkov:skip=CKV2_AWS_28:A WAF web ACL (about 10 USD a month plus requests) is left out of the default sizes: writes need an API key, request bodies are capped (MAX_REQUEST_BYTES) and URLs are validated by the application.
  name                       = local.name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = aws_subnet.public[*].id
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 60
}

resource "aws_lb_target_group" "api" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; from there to the tasks is the private subnets, where only the load balancer's security group reaches the API port.
  name                 = "${local.name}-api"
  vpc_id               = aws_vpc.main.id
  target_type          = "ip"
  protocol             = "HTTP"
  port                 = local.api_port
  deregistration_delay = 30

  health_check {
    path                = "/status"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

# One HTTP listener whatever the mode, so adding a certificate later changes it in place (two
# listeners on port 80, one destroyed and one created, could collide in the same apply).
resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:With a certificate this listener only redirects to HTTPS; it forwards plain HTTP only while certificate_arn is empty (a first deploy before a domain exists), when there is no HTTPS to redirect to.
  #checkov:skip=CKV_AWS_103:As above: it is plain HTTP by design, and serves the API only while there is no certificate.
  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.api.arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []

      content {
        protocol    = "HTTPS"
        port        = "443"
        status_code = "HTTP_301"
      }
    }
  }
}
