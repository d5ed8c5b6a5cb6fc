# Terraform, its providers, and where the state lives.
terraform {
  # 1.11: write-only arguments (password_wo, secret_string_wo) and ephemeral resources, so no
  # generated secret is ever written to the state.
  required_version = ">= 1.11.0, < 2.0.0"

  # State, locking and history in HCP Terraform (Terraform Cloud), as the seed's workflow used.
  # Nothing is named here (a cloud block cannot read variables): `terraform init` takes the
  # organisation from TF_CLOUD_ORGANIZATION and the workspace from TF_WORKSPACE, and the token from
  # TF_TOKEN_app_terraform_io (README "Deploy"). The workspace's execution mode must be "Local":
  # plan and apply run in GitHub Actions with the OIDC role's credentials, HCP Terraform keeps the state.
  cloud {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
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
