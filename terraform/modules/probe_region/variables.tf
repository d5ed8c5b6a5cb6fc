# What an extra region's workers need from the primary region (regions.tf passes them): the image,
# the settings and secrets every task of the primary gets, and where the database and the cache
# are; and, in this region, a VPC with a network path to the primary one.

variable "name" {
  description = "Name prefix of the primary region's resources (its local.name); this region's are named \"<name>-<region>\"."
  type        = string
}

variable "primary_region" {
  description = "The primary AWS region, where the database, the cache, the secrets, the images and the planner are."
  type        = string
}

variable "image" {
  description = "The compute image (Dockerfile.compute) with its tag, in the primary region's ECR repository; pulled across regions through this region's NAT gateway."
  type        = string
}

variable "compute_repository_arn" {
  description = "ARN of the primary region's compute ECR repository, which this region's execution role may pull from."
  type        = string
}

variable "app_environment" {
  description = "The primary region's settings map (its local.app_environment), name to value; REGION is replaced with this region's name, every other value is the same."
  type        = map(string)
}

variable "app_secrets" {
  description = "The primary region's secrets (its local.app_secrets), setting name to the full ARN of its Secrets Manager secret there; ECS reads a secret of another region by its full ARN."
  type        = map(string)
}

variable "secrets_kms_key_arn" {
  description = "ARN of the primary region's KMS key that encrypts those secrets (the execution role may decrypt through Secrets Manager of the primary region only)."
  type        = string
}

variable "primary_vpc_cidr" {
  description = "CIDR of the primary region's VPC, where the database and the cache are: the workers' security group lets out to it on their two ports only."
  type        = string
}

variable "db_port" {
  description = "Port of the primary region's MySQL database (its DB_ADDRESS is in app_environment)."
  type        = number
}

variable "redis_port" {
  description = "Port of the primary region's Redis cache (its CACHE_ADDRESS is in app_environment)."
  type        = number
}

variable "vpc_id" {
  description = "The VPC of this region the workers run in (a prerequisite, not created here)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets of vpc_id for the workers: a default route through a NAT gateway (the probes, the image pull, CloudWatch Logs, Secrets Manager) and a route to primary_vpc_cidr over network_path."
  type        = list(string)
}

variable "network_path" {
  description = "Prerequisite: the VPC peering connection (pcx-...) or transit gateway (tgw-...) that carries this VPC's traffic to primary_vpc_cidr and back; built beforehand, with this region's routes to the primary CIDR. Recorded on the resources as a tag."
  type        = string

  validation {
    condition     = can(regex("^(pcx|tgw)-[0-9a-f]{8,17}$", var.network_path))
    error_message = "network_path must be a VPC peering connection (pcx-...) or transit gateway (tgw-...) id."
  }
}

variable "worker_count" {
  description = "Worker tasks in this region: a fixed count (the planner's lag metric is published in the primary region, where this region's autoscaling cannot read it)."
  type        = number
  default     = 2
}

variable "worker_cpu" {
  description = "CPU units of one worker task (1024 = 1 vCPU), as in the primary region."
  type        = number
  default     = 2048
}

variable "worker_memory" {
  description = "Memory of one worker task, in MiB (must fit worker_cpu on Fargate)."
  type        = number
  default     = 4096
}

variable "log_retention_days" {
  description = "Days this region's worker log group keeps its events."
  type        = number
  default     = 365
}
