# Every input, with what it is for and a default sized for a few thousand URLs (README "Deploy" has
# the monthly cost of these defaults). Only image_tag has no default: the deploy workflow passes the
# commit SHA of the images it pushed.

# -- where and what --

variable "aws_region" {
  description = "AWS region of every resource. The deploy workflow sets it from the AWS_REGION repository variable."
  type        = string
  default     = "us-east-1"
}

variable "project" {
  description = "Name prefix of every resource (and the Project tag). Lower-case letters, digits and hyphens, at most 20 characters, since load balancer and target group names stop at 32."
  type        = string
  default     = "service-monitor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.project))
    error_message = "project must be 1 to 20 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "image_tag" {
  description = "Tag of both images in ECR: the commit SHA the deploy workflow built. Never 'latest', so a task always runs a known build and a roll back is a re-apply with an earlier tag."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be an ECR tag other than 'latest' (the deploy workflow passes the commit SHA)."
  }
}

variable "api_repository" {
  description = "ECR repository of the API image (Dockerfile.api). Created once before the first deploy (README \"Deploy\"), since the images are pushed before Terraform runs."
  type        = string
  default     = "service-monitor-api"
}

variable "compute_repository" {
  description = "ECR repository of the compute image (Dockerfile.compute), created like api_repository."
  type        = string
  default     = "service-monitor-compute"
}

# -- network and load balancer --

variable "availability_zones" {
  description = "The two availability zones of the subnets; empty means zones a and b of aws_region (name two others where the region has no such zone, e.g. ap-northeast-1). Named rather than looked up, so a zone AWS adds or reports impaired never moves a subnet."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) == 2 && alltrue([for zone in var.availability_zones : startswith(zone, var.aws_region)]))
    error_message = "availability_zones must be empty or name two zones of aws_region, e.g. [\"eu-west-1a\", \"eu-west-1b\"]."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; a public and a private subnet of a sixteenth of it each (a /20 of the default /16) in each of two availability zones."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrsubnet(var.vpc_cidr, 4, 3))
    error_message = "vpc_cidr must be an IPv4 CIDR block of /24 or wider (a /16 is the default)."
  }
}

variable "nat_gateway_per_az" {
  description = "true: a NAT gateway in each availability zone, so losing one zone never cuts the other's egress (about 35 USD a month more); false: one NAT gateway for both."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ARN of an ACM certificate for the load balancer. Set: HTTPS on 443, and HTTP on 80 redirects to it. Empty: HTTP only on 80 (for a first deploy before a domain exists)."
  type        = string
  default     = ""

  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be empty or the ARN of an ACM certificate."
  }
}

variable "deletion_protection" {
  description = "Protect the database and the load balancer from deletion (terraform destroy fails until this is false and applied)."
  type        = bool
  default     = true
}

# -- API service --

variable "api_cpu" {
  description = "CPU units of one API task (1024 = 1 vCPU)."
  type        = number
  default     = 512
}

variable "api_memory" {
  description = "Memory of one API task, in MiB (must fit api_cpu on Fargate)."
  type        = number
  default     = 1024
}

variable "api_min_tasks" {
  description = "Fewest API tasks; two, one per availability zone, keep the API up while a task is replaced."
  type        = number
  default     = 2

  validation {
    condition     = var.api_min_tasks >= 1
    error_message = "api_min_tasks must be at least 1."
  }
}

variable "api_max_tasks" {
  description = "Most API tasks autoscaling may run."
  type        = number
  default     = 6

  validation {
    condition     = var.api_max_tasks >= var.api_min_tasks
    error_message = "api_max_tasks must be at least api_min_tasks."
  }
}

variable "api_cpu_target" {
  description = "Average CPU utilisation (percent) of the API tasks that autoscaling keeps them at."
  type        = number
  default     = 60
}

variable "api_requests_per_task" {
  description = "Requests per minute per API task that autoscaling keeps them at (the load balancer's RequestCountPerTarget)."
  type        = number
  default     = 6000
}

# -- compute task --

variable "compute_cpu" {
  description = "CPU units of the compute task; CONCURRENCY's default of 200 is sized for 2 vCPU (README \"Performance\")."
  type        = number
  default     = 2048
}

variable "compute_memory" {
  description = "Memory of the compute task, in MiB (must fit compute_cpu on Fargate)."
  type        = number
  default     = 4096
}

variable "schedule_minutes" {
  description = "Minutes between two compute cycles (the EventBridge rule's rate in cycle mode). The tasks' CYCLE_INTERVAL is set from it, so overruns are judged against the real schedule; in fleet mode it is the interval of a monitor that sets none of its own."
  type        = number
  default     = 10

  validation {
    condition     = var.schedule_minutes >= 1 && var.schedule_minutes <= 1440 && floor(var.schedule_minutes) == var.schedule_minutes
    error_message = "schedule_minutes must be a whole number of minutes from 1 to 1440."
  }
}

# -- the fleet of probers (README "Deploying a fleet") --

variable "scheduler_mode" {
  description = "\"cycle\": the compute task every schedule_minutes probes every URL (the seed's schedule). \"fleet\": the planner task every minute publishes the due monitors as shards on Redis Streams, and the worker service (worker_count to worker_max_count tasks, scaled on the stream's lag) probes them; the cycle rule is then not created."
  type        = string
  default     = "cycle"

  validation {
    condition     = contains(["cycle", "fleet"], var.scheduler_mode)
    error_message = "scheduler_mode must be \"cycle\" or \"fleet\"."
  }
}

variable "worker_count" {
  description = "Fleet mode: the fewest worker tasks (service-monitor worker) in the primary region, and the count they start at; autoscaling adds tasks up to worker_max_count while shards wait. Two, one per availability zone, survive a task's replacement."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_count >= 1 && floor(var.worker_count) == var.worker_count
    error_message = "worker_count must be a whole number of at least 1."
  }
}

variable "worker_max_count" {
  description = "Fleet mode: the most worker tasks autoscaling may run in the primary region (and the most an extra region's worker service may be set to)."
  type        = number
  default     = 10

  validation {
    condition     = var.worker_max_count >= var.worker_count && floor(var.worker_max_count) == var.worker_max_count
    error_message = "worker_max_count must be a whole number of at least worker_count."
  }
}

variable "worker_cpu" {
  description = "CPU units of one worker task; like the compute's, CONCURRENCY's default of 200 is sized for 2 vCPU (about 2,000 probes a second: README \"Performance\")."
  type        = number
  default     = 2048
}

variable "worker_memory" {
  description = "Memory of one worker task, in MiB (must fit worker_cpu on Fargate)."
  type        = number
  default     = 4096
}

variable "worker_lag_per_task" {
  description = "Fleet mode: the ShardStreamLag (shards published and not yet read by a worker) per running worker task that autoscaling keeps the primary region at. The planner samples it just after publishing the next minute's shards, so it is about each task's share of that minute plus any backlog; a 2 vCPU worker probes about 480 shards of 250 monitors a minute, so 240 keeps the workers about half busy."
  type        = number
  default     = 240

  validation {
    condition     = var.worker_lag_per_task > 0
    error_message = "worker_lag_per_task must be above 0."
  }
}

variable "planner_cpu" {
  description = "CPU units of the planner task (service-monitor plan --once --emf), started every minute in fleet mode."
  type        = number
  default     = 512
}

variable "planner_memory" {
  description = "Memory of the planner task, in MiB (must fit planner_cpu on Fargate)."
  type        = number
  default     = 1024
}

variable "alarm_topic_arn" {
  description = "SNS topic the fleet's alarms (dead-lettered shards, a silent planner) notify; empty: the alarms only change state in CloudWatch."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_topic_arn == "" || can(regex("^arn:aws[a-z-]*:sns:", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be empty or the ARN of an SNS topic."
  }
}

variable "extra_regions" {
  description = "Fleet mode: AWS regions that also run workers (REGION = the region's name), keyed by region name, each needing a module block in regions.tf (eu-west-1 has one). Each names a VPC of its own there and its private subnets (with a NAT gateway for the probes, ECR and CloudWatch Logs), the VPC's CIDR, and the network path to this VPC, which you build beforehand: a VPC peering connection (peering_connection_id) or a transit gateway (transit_gateway_id) attached in this region; this configuration adds the routes and the database's and cache's ingress from that CIDR. Empty: no extra region."
  type = map(object({
    vpc_id                = string
    vpc_cidr              = string
    private_subnet_ids    = list(string)
    peering_connection_id = optional(string, "")
    transit_gateway_id    = optional(string, "")
    worker_count          = optional(number, 2)
  }))
  default = {}

  validation {
    condition     = alltrue([for region, extra in var.extra_regions : (extra.peering_connection_id == "") != (extra.transit_gateway_id == "")])
    error_message = "each of extra_regions names exactly one network path to this VPC: peering_connection_id or transit_gateway_id."
  }

  validation {
    condition     = alltrue([for region in keys(var.extra_regions) : contains(local.regions_with_a_module, region) && region != var.aws_region])
    error_message = "each of extra_regions needs its module block and aliased provider in regions.tf (copy eu-west-1's), and is not aws_region."
  }

  validation {
    condition     = length(var.extra_regions) == 0 || var.scheduler_mode == "fleet"
    error_message = "extra_regions run workers, which only fleet mode has: set scheduler_mode = \"fleet\"."
  }

  validation {
    condition     = alltrue([for region, extra in var.extra_regions : can(cidrhost(extra.vpc_cidr, 0)) && length(extra.private_subnet_ids) >= 1 && extra.worker_count >= 1 && extra.worker_count <= var.worker_max_count])
    error_message = "each of extra_regions needs a CIDR vpc_cidr, at least one private subnet, and a worker_count from 1 to worker_max_count."
  }
}

# -- database --

variable "db_instance_class" {
  description = "RDS instance class of the MySQL database."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_engine_version" {
  description = "MySQL engine version; a major version (8.0) lets RDS pick and upgrade the minor one."
  type        = string
  default     = "8.0"
}

variable "db_allocated_storage" {
  description = "Initial storage of the database, in GiB (gp3)."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling limit of the database, in GiB (a month of checks for 10,000 URLs takes about 5 GiB: README \"Performance\")."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "true: a standby database in the other availability zone that takes over within a minute or two (doubles the database's cost); false: one instance, restored from its automated backups if lost."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Days automated backups (and point-in-time recovery) of the database are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be from 1 to 35 (0 would turn automated backups off)."
  }
}

variable "db_password_version" {
  description = "Version of the generated database password: raise it by one and apply to set a new password on the database and in Secrets Manager together (then restart the tasks: README \"Deploy\")."
  type        = number
  default     = 1
}

# -- cache --

variable "redis_node_type" {
  description = "ElastiCache node type of the Redis cache."
  type        = string
  default     = "cache.t4g.micro"
}

variable "redis_engine_version" {
  description = "Redis OSS engine version of the cache."
  type        = string
  default     = "7.1"
}

variable "redis_replicas" {
  description = "Read replicas of the Redis cache, in the other availability zone; with one or more, a failed primary is replaced automatically. 0 keeps one node: the service answers from the database while the cache is down, and no accepted URL is lost with it."
  type        = number
  default     = 0
}

# -- secrets and logs --

variable "redis_auth_token_version" {
  description = "Version of the generated Redis AUTH token: raise it by one and apply to set a new token on the cache and in Secrets Manager together (then restart the tasks: README \"Deploy\")."
  type        = number
  default     = 1
}

variable "api_keys_version" {
  description = "Version of the generated first API key: raise it by one and apply to replace API_KEYS in Secrets Manager with a new generated key. Keys set by hand (README \"Deploy\") stay until this changes."
  type        = number
  default     = 1
}

variable "channel_keys_version" {
  description = "Version of the generated channel key: leave it. Raising it replaces CHANNEL_KEYS with a new key, and channels sealed with the old one can no longer be read (rotate by hand instead, README \"Alerts\")."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "Days the CloudWatch log groups (tasks, VPC flow logs, database) keep their events."
  type        = number
  default     = 365
}

# -- application settings (README "Settings"); the others are set in locals.tf --

variable "log_level" {
  description = "LOG_LEVEL of both tasks: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "probe_timeout" {
  description = "TIMEOUT: seconds a probe may take in total."
  type        = number
  default     = 10
}

variable "concurrency" {
  description = "CONCURRENCY: probes in flight at once in the compute task."
  type        = number
  default     = 200
}

variable "read_auth" {
  description = "READ_AUTH: true makes the statistics need an API key too (writes always do once API_KEYS is set)."
  type        = bool
  default     = false
}

variable "allow_private_targets" {
  description = "ALLOW_PRIVATE_TARGETS: true lets monitors probe internal addresses (this VPC included)."
  type        = bool
  default     = false
}

variable "allowed_target_networks" {
  description = "ALLOWED_TARGET_NETWORKS: CIDR ranges probed even though internal."
  type        = list(string)
  default     = []
}

variable "user_agent" {
  description = "USER_AGENT header of every probe."
  type        = string
  default     = "service-monitor/0.1"
}

variable "metrics_allowed_cidrs" {
  description = "Source ranges (CIDR) that may read /metrics through the load balancer, e.g. your Prometheus' egress address; from anywhere else it answers 403. Empty: no one through the load balancer."
  type        = list(string)
  default     = []

  validation {
    # An ALB rule holds at most 5 condition values: the path takes one.
    condition     = length(var.metrics_allowed_cidrs) <= 4 && alltrue([for c in var.metrics_allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "metrics_allowed_cidrs takes at most 4 CIDR ranges such as 203.0.113.7/32."
  }
}

variable "canary_urls" {
  description = "CANARY_URLS: monitored URLs that should always be up; when they fail with network causes, the storm guard blames the prober's network."
  type        = list(string)
  default     = []
}
