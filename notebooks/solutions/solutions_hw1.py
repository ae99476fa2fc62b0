"""Reference solutions of homework 1 (zero-shot classification with CLIP), checked by course_utils.exercises."""
import torch
import torch.nn.functional as F

from course_utils.data.scene import COLOR_ZH, SHAPE_ZH


def zero_shot_classifier(encode_text, tokenize, classnames, templates):
    columns = []
    for c in classnames:
        prompts = [t.format(c) if isinstance(t, str) else t(c) for t in templates]     # M prompts of class c
        z = F.normalize(encode_text(tokenize(prompts)), dim=-1)                        # (M, d), each unit length
        columns.append(F.normalize(z.mean(dim=0), dim=-1))                              # (d,): mean, renormalized
    return torch.stack(columns, dim=1)                                                  # W (d, C)


def my_templates():
    def zh(fmt):
        return lambda c: fmt.format(color=COLOR_ZH[c.split()[0]], shape=SHAPE_ZH[c.split()[1]])

    return [
        "a small {}.",
        "a large {}.",
        "there is one object: a small {}.",
        "there is one object: a large {}.",
        zh("图中有一个{color}的小{shape}。"),
        zh("图中有一个{color}的大{shape}。"),
    ]


SOLUTIONS = {"hw1.1": zero_shot_classifier, "hw1.2": my_templates}

ANSWERS = """
**参考回答**

1. 见过的组合上两种写法都是 100%；留出组合上，只写类别名是 92.0%，`'a small {}.'` 是 100%。训练描述总是完整的句子、
总带着大小词（"a small red circle."），文本编码器在 `<eos>` 处的特征是在这样的句子上学会对齐图像的；只有类别名的
输入离训练分布远，留出组合又没有"背下来"的捷径，最先出错。
2. 去掉中文模板变化很小（英文模板已经覆盖了每个类别）；去掉带 small / large 的成对模板影响最大：
图里的物体有大有小，只留一种大小词，另一种大小的图就和原型不那么像。集成让分类器不必猜大小。
3. 思路相同：模板要像模型训练时见过的文字（网上图片的配文常是 "a photo of a …"），并用多个模板覆盖图像
可能的样子（模糊、素描、大小、背景），平均掉单个句子的偶然性。
"""
