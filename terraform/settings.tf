# The application's settings (src/service_monitor/config.py, README "Settings"), the same for every
# container (API, compute, planner, workers), so none ever runs with a value another does not share;
# an extra region's workers take the same map with only REGION changed (modules/probe_region).
# tests/deploy/test_terraform.py checks that every field of Settings is set here (but SQLITE_PATH,
# the embedded store's file, unused once DB_ADDRESS and CACHE_ADDRESS are set) and nothing else, and
# that each value written out is the application's default (but CACHE_TLS).

locals {
  # Plain environment: where the database and the cache are, the schedule, and every tunable, at
  # the application's default unless a variable says otherwise.
  app_environment = {
    # the database (the password is a secret, below)
    DB_ADDRESS         = aws_db_instance.main.address
    DB_PORT            = tostring(local.db_port)
    DB_USER            = local.db_user
    DB_NAME            = local.db_name
    MAX_POOL           = "10"
    MIN_POOL           = "1"
    DB_CONNECT_TIMEOUT = "5.0"
    DB_QUERY_TIMEOUT   = "30.0"
    # the cache, over TLS (ElastiCache's in-transit encryption), with its AUTH token (a secret)
    CACHE_ADDRESS     = aws_elasticache_replication_group.main.primary_endpoint_address
    CACHE_PORT        = tostring(local.redis_port)
    CACHE_TLS         = "true"
    CACHE_MAX_AGE     = "600"
    CACHE_LOCAL_TTL   = "1.0"
    CACHE_KEY_PREFIX  = "service-monitor:"
    CACHE_OP_TIMEOUT  = "1.0"
    CACHE_RETRY_AFTER = "5.0"
    # the cycle: the EventBridge rule's rate, so overruns are judged against the real schedule
    CYCLE_INTERVAL        = tostring(var.schedule_minutes * 60)
    TIMEOUT               = tostring(var.probe_timeout)
    CONCURRENCY           = tostring(var.concurrency)
    RAMP_UP_SECONDS       = "2.0"
    PER_HOST_LIMIT        = "4"
    MAX_BODY_BYTES        = "65536"
    MAX_REDIRECTS         = "10"
    WRITE_BATCH_SIZE      = "500"
    ROLLUP_RETENTION_DAYS = "400"
    USER_AGENT            = var.user_agent
    # security
    ALLOW_PRIVATE_TARGETS   = tostring(var.allow_private_targets)
    ALLOWED_TARGET_NETWORKS = join(",", var.allowed_target_networks)
    READ_AUTH               = tostring(var.read_auth)
    MAX_REQUEST_BYTES       = "1048576"
    # alerting
    FAILURE_THRESHOLD  = "3"
    SUCCESS_THRESHOLD  = "2"
    RUN_DISPATCHER     = "true"
    DISPATCH_INTERVAL  = "2.0"
    NOTIFY_RETRY_HOURS = "24.0"
    NOTIFY_SENDERS     = "4"
    NOTIFY_TIMEOUT     = "15.0"
    STORM_SHARE        = "0.5"
    STORM_MIN_MONITORS = "20"
    BURST_LIMIT        = "10"
    CANARY_URLS        = join(",", var.canary_urls)
    # the fleet of probers (README "A fleet of probers")
    # REGION is this (the primary) region's name; an extra region's workers get their own
    # (modules/probe_region, the only setting that differs there).
    REGION         = var.aws_region
    REGIONS        = join(",", local.regions)
    SHARD_SIZE     = "250"
    SHARD_DEADLINE = "60.0"
    MAX_DELIVERIES = "5"
    STREAM_MAXLEN  = "100000"
    # faults and shutdown (ECS waits stopTimeout, 30 s, after SIGTERM: more than the grace below)
    STARTUP_TIMEOUT        = "120.0"
    WRITE_RETRY_SECONDS    = "300.0"
    SHUTDOWN_GRACE_SECONDS = "20.0"
    LOG_LEVEL              = var.log_level
  }

  # From Secrets Manager, as ECS `secrets` (name = the secret's ARN).
  app_secrets = {
    DB_PASSWORD    = aws_secretsmanager_secret.db_password.arn
    CACHE_PASSWORD = aws_secretsmanager_secret.redis_auth_token.arn
    API_KEYS       = aws_secretsmanager_secret.api_keys.arn
    CHANNEL_KEYS   = aws_secretsmanager_secret.channel_keys.arn
  }

  # The two lists every task definition's container takes, in the shape ECS wants. An empty value
  # is left out: ECS drops it anyway (and Terraform would then see a change at every plan), and
  # every setting reads as its default when unset, which is what an empty value means here.
  container_environment = [for name, value in local.app_environment : { name = name, value = value } if value != ""]
  container_secrets     = [for name, arn in local.app_secrets : { name = name, valueFrom = arn }]
}
