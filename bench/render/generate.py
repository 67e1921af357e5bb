"""Writes N Deployments spread over F files (plus a Service per Deployment's
app every tenth) into a directory: the input of bench/render/run."""
import os
import sys

out, count, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
per_file = count // files
for f in range(files):
    docs = []
    for i in range(per_file):
        n = f * per_file + i
        docs.append(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{n}
  namespace: team-{n % 7}
  labels:
    app.kubernetes.io/name: app-{n}
    app.kubernetes.io/part-of: bench
  annotations:
    berth.dev/sync-wave: "{n % 3}"
spec:
  replicas: {1 + n % 5}
  selector:
    matchLabels:
      app: app-{n}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: app-{n}
        tier: backend
    spec:
      containers:
        - name: app
          image: registry.local/app-{n}:1.{n % 10}.0
          args: ["--port", "8080", "--log-level", "info"]
          ports:
            - name: http
              containerPort: 8080
          env:
            - name: APP_NAME
              value: app-{n}
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
            limits:
              cpu: "1"
              memory: 256Mi
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 5
          livenessProbe:
            tcpSocket:
              port: 8080
            initialDelaySeconds: 10
          volumeMounts:
            - name: config
              mountPath: /etc/app
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: app-{n}-config
""")
    with open(os.path.join(out, f"apps-{f:03d}.yaml"), "w") as handle:
        handle.write("---\n".join(docs))
