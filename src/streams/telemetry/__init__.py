"""Node telemetry: host and GPU readings for the infrastructure layer.

``host`` reads CPU, memory, disk and network with psutil; ``nvml`` reads GPUs through
NVML and imports nothing but the standard library and pynvml; ``gpu`` is the
stand-alone check of those readings against nvidia-smi; ``agent`` samples both at an
interval and produces ``TelemetryEvent`` to ``node-telemetry``; ``metrics`` serves the
same readings as Prometheus metrics; ``cli`` is the ``streams telemetry-agent`` command.
Nothing is imported here, so that importing one part never drags in the others'
dependencies.
"""
