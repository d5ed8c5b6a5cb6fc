# Extra regions that probe from elsewhere (fleet mode, README "Deploying a fleet"): in each, only a
# worker service (modules/probe_region) with REGION = that region's name, on the primary region's
# database and cache. A provider cannot be chosen by a variable, so each region has its own aliased
# provider and module block here; an entry of var.extra_regions turns its block on (its count is 0
# otherwise, and the default plan creates nothing in any other region). To add a region, copy the
# eu-west-1 pair below, change the three names, and add the region to regions_with_a_module.
#
# Prerequisite, not built here: a VPC in that region with private subnets behind a NAT gateway, and
# a VPC peering connection or a transit gateway between it and this VPC, with that VPC's routes to
# this one's CIDR. This configuration adds the routes back (network.tf) and lets that VPC's CIDR
# reach the database and the cache (security_groups.tf).

locals {
  # The regions that have a module block below (var.extra_regions may only name these).
  regions_with_a_module = ["eu-west-1"]

  # What every extra region's workers take from this one.
  probe_region_inputs = {
    name                   = local.name
    primary_region         = var.aws_region
    image                  = local.compute_image
    compute_repository_arn = data.aws_ecr_repository.compute.arn
    secrets_kms_key_arn    = aws_kms_key.main.arn
    primary_vpc_cidr       = var.vpc_cidr
  }
}

provider "aws" {
  alias  = "eu_west_1"
  region = "eu-west-1"

  default_tags {
    tags = {
      Project   = var.project
      ManagedBy = "terraform"
    }
  }
}

module "probe_region_eu_west_1" {
  source = "./modules/probe_region"
  count  = contains(keys(var.extra_regions), "eu-west-1") ? 1 : 0

  providers = {
    aws = aws.eu_west_1
  }

  # The same settings and secrets as every task here (REGION is changed in the module).
  app_environment = local.app_environment
  app_secrets     = local.app_secrets

  name                   = local.probe_region_inputs.name
  primary_region         = local.probe_region_inputs.primary_region
  image                  = local.probe_region_inputs.image
  compute_repository_arn = local.probe_region_inputs.compute_repository_arn
  secrets_kms_key_arn    = local.probe_region_inputs.secrets_kms_key_arn
  primary_vpc_cidr       = local.probe_region_inputs.primary_vpc_cidr
  db_port                = local.db_port
  redis_port             = local.redis_port
  log_retention_days     = var.log_retention_days
  worker_cpu             = var.worker_cpu
  worker_memory          = var.worker_memory

  vpc_id             = var.extra_regions["eu-west-1"].vpc_id
  private_subnet_ids = var.extra_regions["eu-west-1"].private_subnet_ids
  worker_count       = var.extra_regions["eu-west-1"].worker_count
  network_path       = coalesce(var.extra_regions["eu-west-1"].peering_connection_id, var.extra_regions["eu-west-1"].transit_gateway_id)
}
