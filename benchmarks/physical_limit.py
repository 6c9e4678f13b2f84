"""FLOPs of ONNX bundles and this machine's achievable GEMM rate: `python benchmarks/physical_limit.py BUNDLE...`

(`rakuten-edge bench` computes the same for every row it measures; this script is for a quick look.)
"""

import sys
from pathlib import Path

from rakuten_edge.bench.flops import count_flops, gemm_peak
from rakuten_edge.runtime.manifest import read_manifest
from rakuten_edge.tables.text_kinds import sequence_length


def main(bundles: list[str], threads: int = 2) -> None:
    peaks = gemm_peak(threads)
    bf16 = f", bf16 {peaks['bf16']:.0f} GFLOP/s ({peaks['bf16_engine']})" if "bf16" in peaks else ""
    print(
        f"achievable GEMM ({threads} threads): fp32 {peaks['fp32']:.0f} GFLOP/s, int8 {peaks['int8']:.0f} GFLOP/s{bf16}"
    )
    for bundle in bundles:
        text = read_manifest(bundle, verify=False)["preprocessing"]["text"]
        flops = count_flops(Path(bundle) / "model.onnx", sequence_length(text))
        floor = flops["total"] / (peaks["fp32"] * 1e9) * 1000
        print(
            f"{bundle}: {flops['total'] / 1e9:.3f} GFLOP per item "
            f"({', '.join(f'{k} {v / 1e9:.3f}' for k, v in flops.items() if k != 'total')}); "
            f"fp32 latency floor at peak {floor:.3f} ms"
        )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
