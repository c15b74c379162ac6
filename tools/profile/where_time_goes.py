#!/usr/bin/env python3
"""Attributes each perf sample of a .NET service to the component of its leaf-most recognised frame.

    where_time_goes.py PROFILE.perf [--top N]

A sample counts for the first frame, walking from the leaf towards the thread's root, that matches one of the
components below (checked in order): so time in the kernel's TCP stack under a Kestrel send counts as "kernel", and
time in OpenTelemetry under a gateway stage counts as "telemetry". Then the busiest methods of our own code.
"""
import collections
import re
import subprocess
import sys

COMPONENTS = [
    ("JIT compiler (warm-up not over)", r"libclrjit"),
    ("telemetry: OpenTelemetry SDK", r"\bOpenTelemetry"),
    ("telemetry: activities, diagnostic events", r"System\.Diagnostics\.(Activity|DiagnosticListener)|DiagnosticsHandler"),
    ("telemetry: metrics instruments", r"System\.Diagnostics\.Metrics|MetricsHandler"),
    ("Redis client", r"StackExchange\.Redis"),
    ("ONNX Runtime", r"libonnxruntime"),
    ("Hyperion code", r"\bHyperion\."),
    ("YARP", r"\bYarp\."),
    ("HttpClient", r"System\.Net\.Http"),
    ("Kestrel, ASP.NET Core", r"Microsoft\.AspNetCore"),
    ("sockets", r"System\.Net\.Sockets|libSystem\.Native"),
    ("JSON", r"System\.Text\.Json"),
    ("kernel (syscalls, TCP, scheduler)", r"kernel\.kallsyms|\[k\]"),
    ("runtime (GC, stubs, thread pool)", r"libcoreclr"),
    ("base library", r"System\.Private\.CoreLib"),
]


def samples(profile):
    script = subprocess.run(["perf", "script", "-i", profile, "-F", "comm,tid,ip,sym,dso"],
                            capture_output=True, text=True, check=True).stdout
    frames = None
    for line in script.splitlines():
        if not line.strip():
            continue
        if line[0] in " \t":
            if frames is not None:
                frames.append(line.strip())
        else:
            if frames:
                yield frames
            frames = []
    if frames:
        yield frames


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    top = int(args[args.index("--top") + 1]) if "--top" in args else 15
    patterns = [(name, re.compile(regex)) for name, regex in COMPONENTS]
    ours = re.compile(r"\[Hyperion\.[^\]]*\]\s*(.*?)\(")
    by_component, by_method, total = collections.Counter(), collections.Counter(), 0
    for frames in samples(args[0]):
        total += 1
        owner = next((name for frame in frames for name, regex in patterns if regex.search(frame)), "other")
        by_component[owner] += 1
        method = next((m.group(1) for frame in frames if (m := ours.search(frame))), None)
        if method:
            by_method[method] += 1
    if total == 0:
        sys.exit("no samples: was the service busy while perf ran?")
    print(f"{total} samples")
    for name, count in by_component.most_common():
        print(f"{100.0 * count / total:6.2f} %  {name}")
    print(f"\nThe innermost Hyperion method on the stack (its own time and what it calls outside Hyperion), top {top}:")
    for method, count in by_method.most_common(top):
        print(f"{100.0 * count / total:6.2f} %  {method}")


if __name__ == "__main__":
    main()
