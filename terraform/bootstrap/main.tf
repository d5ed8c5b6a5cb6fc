# Applied once, by an administrator, before the first deploy (README "Deploy"): what the deploy
# workflow needs before it can run at all. The two ECR repositories (the images are pushed before
# the main configuration is applied), GitHub's OIDC identity provider, and the role the workflow
# assumes through it, so no long-lived AWS key is stored anywhere.

terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  # Its own HCP Terraform workspace, named like the main one's: TF_CLOUD_ORGANIZATION and
  # TF_WORKSPACE (e.g. service-monitor-bootstrap) at `terraform init`.
  cloud {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project   = var.project
      ManagedBy = "terraform"
    }
  }
}

variable "aws_region" {
  description = "AWS region of the repositories (the same as the main configuration's)."
  type        = string
  default     = "us-east-1"
}

variable "project" {
  description = "Name prefix, the same as the main configuration's: the repositories are <project>-api and <project>-compute, and the deploy role may manage only IAM roles named <project>-*."
  type        = string
  default     = "service-monitor"
}

variable "github_repository" {
  description = "The GitHub repository (owner/name) whose deploy workflow may assume the deploy role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "github_environment" {
  description = "The GitHub environment of the deploy job: only jobs in it get the role (restrict its deployment branches to main in the repository's settings)."
  type        = string
  default     = "production"
}

variable "create_oidc_provider" {
  description = "Create GitHub's OIDC identity provider. An account has at most one per URL: false reuses the existing one."
  type        = bool
  default     = true
}

variable "images_kept" {
  description = "Images kept per repository; older ones expire. Each deploy pushes one, so this is how far back a roll back can go."
  type        = number
  default     = 100
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  github_oidc_url = "https://token.actions.githubusercontent.com"
  oidc_provider_arn = (var.create_oidc_provider
    ? aws_iam_openid_connect_provider.github[0].arn
    : data.aws_iam_openid_connect_provider.github[0].arn
  )
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
}

# -- ECR: immutable tags (a tag is one build for ever), scanned on push, encrypted with KMS --

resource "aws_ecr_repository" "images" {
  for_each = toset(["api", "compute"])

  name                 = "${var.project}-${each.key}"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
  }
}

resource "aws_ecr_lifecycle_policy" "images" {
  for_each = aws_ecr_repository.images

  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the newest ${var.images_kept} images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.images_kept
      }
      action = { type = "expire" }
    }]
  })
}

# -- GitHub OIDC and the deploy role --

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = local.github_oidc_url
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1

  url = local.github_oidc_url
}

data "aws_iam_policy_document" "deploy_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_environment}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = "${var.project}-deploy"
  description          = "GitHub Actions (${var.github_repository}, environment ${var.github_environment}): push the images and apply terraform/"
  assume_role_policy   = data.aws_iam_policy_document.deploy_assume.json
  max_session_duration = 3600
}

# What `terraform apply` of the main configuration and the image push need, and no more than those
# services: IAM only on roles named <project>-*, ECR only on the two repositories, secrets only under
# <project>/. The other services' create calls take no resource ARN before the resource exists.
data "aws_iam_policy_document" "deploy" {
  #checkov:skip=CKV_AWS_356:Creating VPCs, load balancers, clusters, databases, caches, keys and log groups cannot be scoped to ARNs that do not exist yet; the actions are limited to the services the configuration uses.
  #checkov:skip=CKV_AWS_111:As above: write access is limited to the services of the configuration; IAM writes are scoped to <project>-* roles.
  #checkov:skip=CKV_AWS_109:Managing the project's KMS key (its policy included) is part of applying the configuration; the key policy keeps the account root in control.
  #checkov:skip=CKV_AWS_107:Terraform reads back the secret versions it manages (GetSecretValue), and the push needs an ECR token; secrets are limited to those under <project>/.
  statement {
    sid = "Infrastructure"
    actions = [
      "application-autoscaling:*",
      "cloudwatch:DeleteAlarms",
      "cloudwatch:DescribeAlarms",
      "cloudwatch:PutMetricAlarm",
      "ec2:*",
      "ecs:*",
      "elasticache:*",
      "elasticloadbalancing:*",
      "events:*",
      "kms:*",
      "logs:*",
      "rds:*",
      "secretsmanager:GetRandomPassword",
      "secretsmanager:ListSecrets",
      "sts:GetCallerIdentity",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ProjectSecrets"
    actions   = ["secretsmanager:*"]
    resources = ["arn:${local.partition}:secretsmanager:${var.aws_region}:${local.account}:secret:${var.project}/*"]
  }

  statement {
    sid = "ProjectRoles"
    actions = [
      "iam:AttachRolePolicy",
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:PassRole",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
    ]
    resources = ["arn:${local.partition}:iam::${local.account}:role/${var.project}-*"]
  }

  statement {
    sid       = "ServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${local.account}:role/aws-service-role/*"]
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken takes no resource
  }

  statement {
    sid = "PushAndReadImages"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:DescribeRepositories",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:ListTagsForResource",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [for repository in aws_ecr_repository.images : repository.arn]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

output "deploy_role_arn" {
  description = "Set it as the repository secret AWS_DEPLOY_ROLE_ARN."
  value       = aws_iam_role.deploy.arn
}

output "repositories" {
  description = "The two ECR repositories (the main configuration's api_repository and compute_repository)."
  value       = { for key, repository in aws_ecr_repository.images : key => repository.repository_url }
}
