"""Node telemetry: host and GPU readings for the infrastructure layer.

``host`` reads CPU, memory, disk and network with psutil; ``gpu`` reads GPUs through
NVML and imports nothing but the standard library and pynvml (it doubles as a
stand-alone check against nvidia-smi); ``agent`` samples both at an interval, produces
``TelemetryEvent`` to ``node-telemetry`` and serves Prometheus metrics; ``cli`` is the
``streams telemetry-agent`` command. Nothing is imported here, so that importing one
part never drags in the others' dependencies.
"""
