"""Evaluation: tasks (built-in lab tasks or JSONL files), lm-eval-style scoring, and `evaluate`."""

from lmforge.eval.run import evaluate
from lmforge.eval.scoring import loglikelihoods, normalize_answer
from lmforge.eval.task import Task, known_tasks, load_task

__all__ = ["Task", "evaluate", "known_tasks", "load_task", "loglikelihoods", "normalize_answer"]
