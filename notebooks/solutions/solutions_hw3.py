"""Reference solutions of homework 3 (the key factors of cross-modal alignment), checked by course_utils.exercises."""
from dataclasses import replace

import numpy as np

from course_utils import alignment as align


def mismatch_pairs(pairs, share, seed):
    rng = np.random.default_rng(seed)
    n = len(pairs)
    chosen = rng.choice(n, size=round(share * n), replace=False)             # exactly round(share · n) pairs
    tokens, captions, txt_attr = pairs.tokens.clone(), list(pairs.captions), pairs.txt_attr.clone()
    for i in chosen:
        others = np.flatnonzero(pairs.txt_attr.numpy() != pairs.img_attr[i].item())  # captions of other-looking scenes
        j = int(rng.choice(others))
        tokens[i], captions[i], txt_attr[i] = pairs.tokens[j], pairs.captions[j], pairs.txt_attr[j]
    return align.Pairs(pairs.images, tokens, captions, pairs.img_attr, txt_attr, pairs.label)


def run_factor(name, values, base, seeds, train, test, tokenizer):
    rows = []
    for v in values:
        row = {name: v}
        for s in seeds:
            _, metrics = align.run(replace(base, seed=s, **{name: v}), train, test, tokenizer)
            for k, x in metrics.items():
                row.setdefault(k, []).append(float(x))
        rows.append(row)
    return rows


SOLUTIONS = {"hw3.1": mismatch_pairs, "hw3.2": run_factor}

ANALYSIS = """
**参考分析**（数字来自第 4 节：300 步、种子 0；种子间波动来自 24.5 记录的 600 步、三个种子）

1. **影响最大的是噪声对和过小的嵌入维度。** 一半的对错配时 R@1 从 65.6% 降到 33.4%（记录：0.82–0.83 降到
0.34–0.43，范围不重叠）；$d = 2$ 时 R@1 只有 5.5%（记录的三个种子从 6% 到 70%：两维的圆周上放不下 36 种描述，结果
全看初始化）。批大小 16 → 128 是 56.8% → 73.7%，记录的范围 0.63–0.68 与 0.88–0.95 不重叠，是真的差别。
$d = 8$ 与 $d = 32$（72.4% 与 65.6%）在记录里是 0.78–0.84 与 0.82–0.83，范围重叠：这一次的差别是种子的波动，
说明不了 8 维更好。
2. **温度与负样本数。** 两者都在分母里：$N$ 决定分母有几项、下界 $\\log N$ 能到多高；$\\tau$ 决定这些项怎样加权。
$\\tau = 0.01$ 时 R@1 81.7%，$\\tau = 1$ 时 62.8%（记录 0.87–0.90 对 0.72–0.75）。$\\tau = 1$ 的对齐度只有 0.012，
正对很近，检索却差：所有负样本一样重，最像的负样本没有被推开。负样本从 16 增到 128，对齐度几乎不变
（0.047 → 0.072），均匀度从 −1.88 变好到 −2.06：更多的负样本把嵌入在球面上铺得更开。
3. **噪声对。** 一半错配时模型仍学到一部分（R@1 33.4%）：正确的对是多数而且彼此一致，错配是随机的。代价在几何上：
对齐度从 0.062 升到 0.881，错配的"正样本"把不相干的图文拉近，真正的对也不再那么近；均匀度从 −2.04 变成 −1.04，
嵌入缩成一团。
4. **训练目标。** 匹配 71.3%、对比 65.6%、重建 32.1%。匹配的对齐度 1.18 很大，因为它检索用判别头的分数而不是余弦，
嵌入本身不必让正对靠近；重建的均匀度 −2.27 最好、对齐度 0.79 却差：每个模态保留了自己的信息，两个模态没有被放到
一起。检索要的是"检索时用的分数把正对排在最前"，对比和匹配直接优化各自的分数，重建不优化它。匹配与对比只差一次
运行的 5.7 个百分点，要排先后需要几个种子。
"""
