output "url" {
  description = "The API's address: HTTPS on the load balancer's name when a certificate is set (point your domain's record at alb_dns_name), HTTP otherwise."
  value       = local.https ? "https://${aws_lb.main.dns_name}" : "http://${aws_lb.main.dns_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer, for a CNAME or alias record of your domain."
  value       = aws_lb.main.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer, for a Route 53 alias record."
  value       = aws_lb.main.zone_id
}

output "cluster_name" {
  description = "ECS cluster of the API service and the compute task."
  value       = aws_ecs_cluster.main.name
}

output "api_service_name" {
  description = "ECS service of the API (aws ecs update-service --force-new-deployment restarts it)."
  value       = aws_ecs_service.api.name
}

output "image_tag" {
  description = "Image tag both task definitions run."
  value       = var.image_tag
}

output "api_keys_secret_arn" {
  description = "Secrets Manager secret holding API_KEYS (read the first generated key, or put your own keys, there)."
  value       = aws_secretsmanager_secret.api_keys.arn
}

output "api_task_definition_arn" {
  description = "Task definition (with its revision) the API service was given by this apply."
  value       = aws_ecs_task_definition.api.arn
}

output "worker_service_name" {
  description = "Fleet mode: ECS service of the primary region's workers (empty in cycle mode)."
  value       = local.fleet ? aws_ecs_service.worker[0].name : ""
}

output "extra_region_workers" {
  description = "Fleet mode: each extra region's ECS cluster and worker service, by region."
  value = {
    for module_instance in module.probe_region_eu_west_1 : module_instance.region => {
      cluster = module_instance.cluster_name
      service = module_instance.worker_service_name
    }
  }
}
