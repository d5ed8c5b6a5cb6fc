# The VPC: a public and a private subnet in each of two availability zones. The load balancer and
# the NAT gateway(s) are in the public subnets; the tasks, the database and the cache in the private
# ones, with no public address.

locals {
  name = var.project
  azs  = length(var.availability_zones) > 0 ? var.availability_zones : ["${var.aws_region}a", "${var.aws_region}b"]
}

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = local.name }
}

# The VPC's default security group allows nothing, so nothing can use it by accident.
resource "aws_default_security_group" "default" {
  vpc_id = aws_vpc.main.id
}

resource "aws_subnet" "public" {
  count = 2

  vpc_id                  = aws_vpc.main.id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, 4, count.index)
  map_public_ip_on_launch = false

  tags = { Name = "${local.name}-public-${local.azs[count.index]}" }
}

resource "aws_subnet" "private" {
  count = 2

  vpc_id            = aws_vpc.main.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index + 8)

  tags = { Name = "${local.name}-private-${local.azs[count.index]}" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id

  tags = { Name = local.name }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }

  tags = { Name = "${local.name}-public" }
}

resource "aws_route_table_association" "public" {
  count = 2

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# The private subnets reach out (the probes, ECR, Secrets Manager, CloudWatch Logs) through NAT.
resource "aws_eip" "nat" {
  count = var.nat_gateway_per_az ? 2 : 1

  domain = "vpc"

  tags = { Name = "${local.name}-nat-${local.azs[count.index]}" }
}

resource "aws_nat_gateway" "main" {
  count = var.nat_gateway_per_az ? 2 : 1

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = { Name = "${local.name}-${local.azs[count.index]}" }

  depends_on = [aws_internet_gateway.main]
}

resource "aws_route_table" "private" {
  count = 2

  vpc_id = aws_vpc.main.id

  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.main[var.nat_gateway_per_az ? count.index : 0].id
  }

  tags = { Name = "${local.name}-private-${local.azs[count.index]}" }
}

resource "aws_route_table_association" "private" {
  count = 2

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# ECR serves image layers from S3: through this free gateway endpoint rather than the NAT gateway,
# which would charge for every layer of every compute task's pull (one task per cycle).
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${var.aws_region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  tags = { Name = "${local.name}-s3" }
}

# Rejected connections are logged (accepted ones would cost far more, every probe being one).
resource "aws_flow_log" "vpc" {
  vpc_id               = aws_vpc.main.id
  traffic_type         = "REJECT"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn         = aws_iam_role.flow_logs.arn
}

# The way back to an extra region's VPC (extra_regions), over the peering connection or transit
# gateway built beforehand: from both private route tables, where the database and the cache are.
resource "aws_route" "to_extra_regions" {
  for_each = {
    for pair in setproduct(keys(var.extra_regions), [0, 1]) : "${pair[0]}/${pair[1]}" => {
      region = pair[0]
      table  = pair[1]
    }
  }

  route_table_id            = aws_route_table.private[each.value.table].id
  destination_cidr_block    = var.extra_regions[each.value.region].vpc_cidr
  vpc_peering_connection_id = var.extra_regions[each.value.region].peering_connection_id == "" ? null : var.extra_regions[each.value.region].peering_connection_id
  transit_gateway_id        = var.extra_regions[each.value.region].transit_gateway_id == "" ? null : var.extra_regions[each.value.region].transit_gateway_id
}
