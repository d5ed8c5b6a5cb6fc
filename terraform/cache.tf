# ElastiCache for Redis OSS: encrypted at rest and in transit (the tasks connect with TLS:
# CACHE_TLS), with an AUTH token (CACHE_PASSWORD, from Secrets Manager), in the private subnets,
# reachable from the two task security groups only.

locals {
  redis_port = 6379
}

resource "aws_elasticache_subnet_group" "main" {
  name        = local.name
  description = "${local.name}: the private subnets"
  subnet_ids  = aws_subnet.private[*].id
}

resource "aws_elasticache_replication_group" "main" {
  #checkov:skip=CKV2_AWS_50:Automatic failover needs a replica (redis_replicas, 0 by default for cost): losing the cache costs no data, the API answers from the database meanwhile and every accepted URL is also in the database.
  replication_group_id = local.name
  description          = "${local.name}: statistics cache and new-URL queue"
  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  port                 = local.redis_port

  num_cache_clusters         = 1 + var.redis_replicas
  automatic_failover_enabled = var.redis_replicas > 0
  multi_az_enabled           = var.redis_replicas > 0

  subnet_group_name  = aws_elasticache_subnet_group.main.name
  security_group_ids = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  # ElastiCache has no write-only form of the token, so it is in the state (as is its source,
  # random_password.redis): HCP Terraform encrypts the state at rest. ROTATE keeps the old token
  # valid beside a new one until the tasks have restarted with it.
  auth_token                 = random_password.redis.result
  auth_token_update_strategy = "ROTATE"

  auto_minor_version_upgrade = true
  snapshot_retention_limit   = 1
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:30-sun:06:30"
  apply_immediately          = true
}
