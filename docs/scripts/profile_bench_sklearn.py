#!/usr/bin/env python3
"""The scikit-learn peer of `benchmark-profiles`: TF-IDF + LDA fit, then scoring every user, on the same corpus files.

Usage: /usr/bin/python3 docs/scripts/profile_bench_sklearn.py --dir DIR --sizes 10000,100000 --repeats 3 [--topics 20]
Prints one JSON line per size, shaped like the .NET verb's.
"""
import argparse
import json
import os
import statistics
import time
from collections import defaultdict



def cpu_seconds():
    """User + system CPU of this process, its reaped children and its live descendants (joblib's loky workers)."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    tick = os.sysconf("SC_CLK_TCK")
    pending = [os.getpid()]
    while pending:
        pid = pending.pop()
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    for child in f.read().split():
                        pending.append(int(child))
                        with open(f"/proc/{child}/stat") as s:
                            fields = s.read().rsplit(")", 1)[1].split()
                        total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


from sklearn.decomposition import LatentDirichletAllocation
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--max-iter", type=int, default=10, help="sklearn's default variational EM passes")
    parser.add_argument("--jobs", type=int, default=-1)
    args = parser.parse_args()

    for size in (int(s) for s in args.sizes.split(",")):
        with open(os.path.join(args.dir, f"corpus-{size}.tsv"), encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t", 1) for line in f]
        texts = [r[1] for r in rows]
        by_user = defaultdict(list)
        for user, text in rows:
            by_user[user].append(text)
        user_docs = [" ".join(t) for t in by_user.values()]

        fits, scores, fit_cpu, score_cpu, vocabulary = [], [], [], [], 0
        for _ in range(args.repeats):
            started, cpu = time.perf_counter(), cpu_seconds()
            # Same vocabulary rule as ours: in at least 2 documents, at most half of them, at most 20,000 terms.
            counter = CountVectorizer(stop_words="english", min_df=2, max_df=0.5, max_features=20000)
            counts = counter.fit_transform(texts)
            tfidf = TfidfTransformer().fit(counts)
            tfidf.transform(counts)
            lda = LatentDirichletAllocation(n_components=args.topics, max_iter=args.max_iter, n_jobs=args.jobs, random_state=1)
            lda.fit(counts)
            fits.append(time.perf_counter() - started)
            fit_cpu.append(cpu_seconds() - cpu)
            vocabulary = len(counter.vocabulary_)

            started, cpu = time.perf_counter(), cpu_seconds()
            user_counts = counter.transform(user_docs)
            tfidf.transform(user_counts)
            lda.transform(user_counts)
            scores.append(time.perf_counter() - started)
            score_cpu.append(cpu_seconds() - cpu)
            print(f"size {size} fit {fits[-1]:.2f} s (cpu {fit_cpu[-1]:.2f}) score {scores[-1]:.2f} s (cpu {score_cpu[-1]:.2f})", flush=True, file=__import__("sys").stderr)

        print(json.dumps({
            "tool": "sklearn",
            "texts": size,
            "users": len(user_docs),
            "vocabulary": vocabulary,
            "topics": args.topics,
            "ldaMaxIter": args.max_iter,
            "fitSeconds": [round(f, 3) for f in fits],
            "fitMedian": round(statistics.median(fits), 3),
            "scoreSeconds": [round(s, 3) for s in scores],
            "scoreMedian": round(statistics.median(scores), 3),
            "scorePerUserMs": round(statistics.median(scores) * 1000 / max(1, len(user_docs)), 4),
            "jobs": args.jobs,
            "fitCpuSeconds": [round(c, 3) for c in fit_cpu],
            "scoreCpuSeconds": [round(c, 3) for c in score_cpu],
            "scoreCpuPerUserMs": round(statistics.median(score_cpu) * 1000 / max(1, len(user_docs)), 4),
        }), flush=True)


if __name__ == "__main__":
    main()
