"""Prompting: templates (instruction + demonstrations + query), demonstration selection,
strategies (direct, CoT, few-shot CoT, self-consistency, least-to-most, plan-and-solve) and
scoring a strategy on an eval task (`lmforge prompt render|run`), and evolving a task prompt
with Promptbreeder (`lmforge prompt evolve`, evolve.py). See docs/prompting.md.
"""
