"""The same pipeline on Ray Data: extraction, segmentation and embedding across a cluster (extra `cluster`).

`signclip.cluster.session` starts or joins Ray; `signclip.cluster.extract` runs pose extraction on CPU
actors that each hold one MediaPipe graph; `signclip.cluster.embed` embeds manifests into Parquet
shards keyed by item id. Nothing here is imported unless `--engine ray` is asked for.
"""
