# Least privilege between the parts: the internet reaches only the load balancer; the load balancer
# only the API tasks' port; the database and the cache accept only the two task security groups (the
# planner and the workers use the compute's), and, in fleet mode, the CIDR of each extra region's VPC.

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Load balancer: HTTP and HTTPS from anywhere, out to the API tasks only"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  #checkov:skip=CKV_AWS_260:The public load balancer must answer port 80: with a certificate it only redirects to HTTPS, without one it is the API's only listener.
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from anywhere (redirected to HTTPS when a certificate is set)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from anywhere"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_api" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the API tasks' port"
  ip_protocol                  = "tcp"
  from_port                    = local.api_port
  to_port                      = local.api_port
  referenced_security_group_id = aws_security_group.api.id
}

resource "aws_security_group" "api" {
  name        = "${local.name}-api"
  description = "API tasks: the API port from the load balancer; out to MySQL, Redis and AWS APIs"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  security_group_id            = aws_security_group.api.id
  description                  = "The API port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.api_port
  to_port                      = local.api_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "api_to_db" {
  security_group_id            = aws_security_group.api.id
  description                  = "MySQL"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.db.id
}

resource "aws_vpc_security_group_egress_rule" "api_to_redis" {
  security_group_id            = aws_security_group.api.id
  description                  = "Redis"
  ip_protocol                  = "tcp"
  from_port                    = local.redis_port
  to_port                      = local.redis_port
  referenced_security_group_id = aws_security_group.redis.id
}

resource "aws_vpc_security_group_egress_rule" "api_to_aws" {
  security_group_id = aws_security_group.api.id
  description       = "HTTPS through NAT: ECR image pulls, Secrets Manager, CloudWatch Logs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

# The planner and the workers use it too; its description stays (a new one replaces the group).
resource "aws_security_group" "compute" {
  name        = "${local.name}-compute"
  description = "Compute task: nothing in; out to MySQL, Redis and the monitored URLs"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_egress_rule" "compute_to_db" {
  security_group_id            = aws_security_group.compute.id
  description                  = "MySQL"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.db.id
}

resource "aws_vpc_security_group_egress_rule" "compute_to_redis" {
  security_group_id            = aws_security_group.compute.id
  description                  = "Redis"
  ip_protocol                  = "tcp"
  from_port                    = local.redis_port
  to_port                      = local.redis_port
  referenced_security_group_id = aws_security_group.redis.id
}

resource "aws_vpc_security_group_egress_rule" "compute_to_targets" {
  #checkov:skip=CKV_AWS_382:The compute's job is probing user-given URLs, which may name any host and TCP port; the application refuses internal addresses itself (ALLOW_PRIVATE_TARGETS).
  security_group_id = aws_security_group.compute.id
  description       = "The monitored URLs (any host, any TCP port) and AWS APIs, through NAT"
  ip_protocol       = "tcp"
  from_port         = 1
  to_port           = 65535
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "db" {
  name        = "${local.name}-db"
  description = "MySQL: from the API and compute tasks only"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_api" {
  security_group_id            = aws_security_group.db.id
  description                  = "MySQL from the API tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.api.id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_compute" {
  security_group_id            = aws_security_group.db.id
  description                  = "MySQL from the compute task"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.compute.id
}

resource "aws_security_group" "redis" {
  name        = "${local.name}-redis"
  description = "Redis: from the API and compute tasks only"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_api" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from the API tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.redis_port
  to_port                      = local.redis_port
  referenced_security_group_id = aws_security_group.api.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_compute" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from the compute task"
  ip_protocol                  = "tcp"
  from_port                    = local.redis_port
  to_port                      = local.redis_port
  referenced_security_group_id = aws_security_group.compute.id
}

# An extra region's workers (regions.tf) reach the database and the cache over the network path its
# entry of extra_regions names; a security group of another region cannot be referenced, so the
# rule names that VPC's CIDR.
resource "aws_vpc_security_group_ingress_rule" "db_from_extra_regions" {
  for_each = var.extra_regions

  security_group_id = aws_security_group.db.id
  description       = "MySQL from the workers in ${each.key}"
  ip_protocol       = "tcp"
  from_port         = local.db_port
  to_port           = local.db_port
  cidr_ipv4         = each.value.vpc_cidr
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_extra_regions" {
  for_each = var.extra_regions

  security_group_id = aws_security_group.redis.id
  description       = "Redis from the workers in ${each.key}"
  ip_protocol       = "tcp"
  from_port         = local.redis_port
  to_port           = local.redis_port
  cidr_ipv4         = each.value.vpc_cidr
}
