"""Times the kit against PyTorch, ONNX Runtime and raw TorchSharp pair by pair within one sitting, and prints the table for README.md.

Both sides stay loaded (the kit's `--serve` mode, which also serves the raw TorchSharp workloads of RawTorchSharp.cs,
and pytorch_reference.py's `--serve` mode); for each comparison, each side runs once to warm up, then the two run
alternately, the one that goes first switching every pair, so that load from other work on the machine falls on both
alike. Reported: medians of the pairs and their ratio.
    python3 tests/Benchmarks/alternate.py [--pairs 15] [filter ...] > tests/Benchmarks/results/alternating-DATE.md
A filter matches a row's workload or what it is timed against ("raw TorchSharp": only those rows).
Run `dotnet build -c Release tests/Benchmarks` first.
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Server:
    """A process that runs a named workload once per input line and answers with its milliseconds."""

    def __init__(self, command, cwd):
        self.process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        while self.process.stdout.readline().strip() != "ready":
            if self.process.poll() is not None:
                raise RuntimeError(f"{command} ended before it was ready")

    def names(self):
        self.process.stdin.write("list\n")
        names = []
        while (line := self.process.stdout.readline().rstrip("\n")) != "":
            names.append(line)
        return names

    def run(self, name):
        self.process.stdin.write(name + "\n")
        answer = self.process.stdout.readline().strip()
        try:
            return float(answer)
        except ValueError:
            raise RuntimeError(f"{name}: {answer}")

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def main():
    args = sys.argv[1:]
    pairs = 15
    if args[:1] == ["--pairs"]:
        pairs, args = int(args[1]), args[2:]
    filters = args

    kit = Server(["dotnet", "bin/Release/net10.0/Benchmarks.dll", "--serve"], cwd=HERE)
    kit_names = kit.names()

    def wanted(name, label):
        return not filters or any(f.lower() in f"{name} {label}".lower() for f in filters)

    raw = ", raw TorchSharp"   # RawTorchSharp.Suffix
    comparisons = [(name[:-len(raw)], (kit, name[:-len(raw)]), (kit, name), "raw TorchSharp") for name in kit_names if name.endswith(raw)]
    onnx = [n for n in kit_names if n.startswith("trunk forward") and "ONNX Runtime" in n]
    comparisons += [(name, (kit, name), (kit, onnx[0]), "ONNX Runtime") for name in kit_names
                    if name.startswith("trunk forward") and "ONNX Runtime" not in name]
    comparisons = [c for c in comparisons if wanted(c[0], c[3])]
    # PyTorch only when a row asks for it: the script needs Debian's python3-torch.
    torch = None
    if any(wanted(name, "PyTorch 1.13") for name in kit_names if not name.endswith(raw)):
        torch = Server(["/usr/bin/python3", os.path.join(HERE, "pytorch_reference.py"), "--serve"], cwd=ROOT)
        torch_names = set(torch.names())
        comparisons = [(name, (kit, name), (torch, name), "PyTorch 1.13") for name in kit_names
                       if name in torch_names and wanted(name, "PyTorch 1.13")] + comparisons

    load = os.getloadavg()
    print(f"# Alternating kit / other timings, {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(f"{pairs} pairs per row, the first of each pair alternating; load average at the start "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) on {os.cpu_count()} cores.\n")
    print("| workload | against | kit median (ms) | other median (ms) | ratio of medians | median of pair ratios |")
    print("|---|---|---:|---:|---:|---:|", flush=True)
    for name, (kit_server, kit_name), (other_server, other_name), other_label in comparisons:
        kit_server.run(kit_name)
        other_server.run(other_name)
        ours, theirs = [], []
        for i in range(pairs):
            if i % 2 == 0:
                ours.append(kit_server.run(kit_name))
                theirs.append(other_server.run(other_name))
            else:
                theirs.append(other_server.run(other_name))
                ours.append(kit_server.run(kit_name))
        ratio = statistics.median(ours) / statistics.median(theirs)
        pair_ratio = statistics.median(a / b for a, b in zip(ours, theirs))
        print(f"| {name} | {other_label} | {statistics.median(ours):,.1f} | {statistics.median(theirs):,.1f} | "
              f"{ratio:.2f} | {pair_ratio:.2f} |", flush=True)
    load = os.getloadavg()
    print(f"\nLoad average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.")
    kit.close()
    if torch is not None:
        torch.close()


main()
