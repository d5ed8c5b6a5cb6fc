output "cluster_name" {
  description = "ECS cluster of this region's workers."
  value       = aws_ecs_cluster.workers.name
}

output "worker_service_name" {
  description = "ECS service of this region's workers (aws ecs update-service --region ... --desired-count N resizes it)."
  value       = aws_ecs_service.worker.name
}

output "region" {
  description = "The region these workers probe from: their REGION, and the name of their shard stream."
  value       = local.region
}
