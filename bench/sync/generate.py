#!/usr/bin/env python3
"""Writes N ConfigMaps and M Deployments (replicas 0), one file each."""
import os, sys

out, configmaps, deployments = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
for i in range(configmaps):
    with open(os.path.join(out, f"cm-{i:04d}.yaml"), "w") as f:
        f.write(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-{i:04d}
  labels: {{ app: bench, shard: "{i % 10}" }}
data:
  key: value-{i}
  value: "0"
  settings.ini: |
    [main]
    name = cm-{i:04d}
    size = {i * 7}
""")
for i in range(deployments):
    with open(os.path.join(out, f"deploy-{i:04d}.yaml"), "w") as f:
        f.write(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i:04d}
  labels: {{ app: app-{i:04d} }}
spec:
  replicas: 0
  selector:
    matchLabels: {{ app: app-{i:04d} }}
  template:
    metadata:
      labels: {{ app: app-{i:04d} }}
    spec:
      containers:
        - name: main
          image: busybox:latest
          command: ["sleep", "3600"]
          env:
            - name: INDEX
              value: "{i}"
          resources:
            requests: {{ cpu: 10m, memory: 8Mi }}
""")
