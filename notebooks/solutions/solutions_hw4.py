"""Reference solution of homework 4 (a survey of multimodal large models), checked by course_utils.exercises."""
from course_utils.survey import ModelEntry


def my_entries():
    return [
        ModelEntry(
            "Kosmos-1", 2023, "Microsoft",
            "a Transformer-based causal language model that reads image embeddings in place of some tokens "
            "(a multimodal large language model trained from scratch)",
            "web-scale multimodal corpora: arbitrarily interleaved text and images, image–caption pairs, and text",
            "next-token prediction on the text of the interleaved documents",
            "perceives general modalities, learns in context (few-shot) and follows instructions (zero-shot): "
            "language understanding and generation, OCR-free document understanding, captioning, visual question "
            "answering, and image classification with text instructions",
            "far from human accuracy on the Raven IQ test the authors introduce for nonverbal reasoning",
            "arXiv:2302.14045",
        ),
        ModelEntry(
            "Qwen-VL", 2023, "Alibaba Group",
            "a ViT image encoder, a position-aware vision-language adapter (one cross-attention layer with learned "
            "queries that compresses the image features) and the Qwen-7B language model",
            "a cleaned multilingual corpus of image–text pairs, then multi-task data (captioning, VQA, grounding, "
            "OCR), then instruction data for the chat model",
            "three stages of next-token prediction: pre-training, multi-task pre-training, supervised fine-tuning",
            "records for generalist models of similar size on visual benchmarks such as captioning, question "
            "answering and visual grounding",
            "what it cannot do yet, listed as future work in the conclusion: other modalities such as speech and "
            "video, and generating images",
            "arXiv:2308.12966",
        ),
    ]


SOLUTIONS = {"hw4.1": my_entries}

ANALYSIS = """
**参考分析（示例，不是唯一答案）**

1. **统一的架构。** Kosmos-1 和 Qwen-VL 都把图像变成语言模型能读的向量：Kosmos-1 的语言模型从头训练、直接读图像嵌入
（`architecture`），Qwen-VL 用一层带可学习查询的交叉注意力把图像特征压成固定数目的 token 再交给 Qwen-7B
（`architecture`），与 BLIP-2 的 Q-Former、Flamingo 的 Perceiver Resampler 同属"桥"。好处是输出变成自由的文字，一个模型
能做描述、问答、定位（Qwen-VL 的 `results`）；代价是语言模型的毛病一并继承（BLIP-2、Flamingo 的 `limits` 都写了），
而桥只把图像接进来，语音、视频和生成图像还要另做（Qwen-VL 的 `limits`）。
2. **规模与数据。** 登记表里数据从 CLIP 的 4 亿图文对、ALIGN 的十亿级噪声对，长到 Flamingo 的网页交错语料；但 LLaVA 只用
15.8 万条由 GPT-4 生成的指令数据就学会了对话（LLaVA 的 `data`），BLIP-2 用 CapFilt 重写描述（BLIP-2 的 `data`）：
这些结果更多来自数据的形式与质量，而不是规模本身。Qwen-VL 的三阶段（`objectives`）也把"大量弱标注"和
"少量强标注"分开使用。
3. **泛化与局限。** 共同的局限是幻觉和推理：CLIP 不会数数（CLIP 的 `limits`），Kosmos-1 在瑞文推理测验上远不如人
（Kosmos-1 的 `limits`），GPT-4V 的报告专门讨论了医学等高风险领域里不可靠的回答。24.4 里小 CLIP 在留出组合上的
失败、24.9 里两跳问题的困难、24.12 里没有思维链时两跳问题答错，都是这些局限在小世界里的样子。
"""
