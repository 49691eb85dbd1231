"""The calculator tool's evaluator: arithmetic from an AST walk, never `eval`.

Integers stay exact at any size (Python ints), `/` of integers gives an exact fraction, and
floats appear only when the expression has them (or a square root is irrational). Only
numbers, + - * / // % **, parentheses, a few functions (abs, min, max, round, sqrt, gcd,
factorial) and the constants pi and e are accepted; sizes are bounded so that a `9**9**9`
cannot hang the agent.
"""

from __future__ import annotations

import ast
import math
import operator
from fractions import Fraction

from lmforge.errors import LmforgeError

Number = int | float | Fraction
MAX_CHARS = 500
MAX_BITS = 100_000  # about 30,000 decimal digits
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_FUNCTIONS = ("abs", "min", "max", "round", "sqrt", "gcd", "factorial")
_FUNCTIONS_FIX = f"Functions: {', '.join(_FUNCTIONS)}."


def calculate(expression: str) -> Number:
    """The value of an arithmetic expression (LmforgeError saying what is not allowed)."""
    text = expression.strip().replace("×", "*").replace("÷", "/").replace("−", "-")
    if len(text) > MAX_CHARS:
        raise LmforgeError(f"expression is longer than {MAX_CHARS} characters.")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise LmforgeError(f"{expression!r} is not an arithmetic expression ({e.msg}).") from None
    try:
        return _eval(tree.body)
    except OverflowError:
        raise LmforgeError(f"{expression!r}: a number is too large for a float.") from None


def format_number(value: Number) -> str:
    """Exact where possible: `5555`, `1/3 ≈ 0.333333333333`, `2.5`."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        return f"{value.numerator}/{value.denominator} ≈ {float(value):.12g}"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _eval(node: ast.AST) -> Number:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        return _binary(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id not in _FUNCTIONS:
            raise LmforgeError(f"function {node.func.id}() is not available.", _FUNCTIONS_FIX)
        return _function(node.func.id, [_eval(a) for a in node.args])
    shown = ast.unparse(node)
    if isinstance(node, ast.Tuple):
        raise LmforgeError(f"{shown!r} is a list of values; write numbers without commas.")
    raise LmforgeError(
        f"{shown!r} is not allowed in the calculator (only numbers and + - * / // % **)."
    )


def _binary(node: ast.BinOp) -> Number:
    if isinstance(node.op, ast.BitXor):
        raise LmforgeError("^ is not a power here.", "Write powers as a ** b.")
    left, right = _eval(node.left), _eval(node.right)
    if isinstance(node.op, ast.Pow):
        return _power(left, right)
    if isinstance(node.op, ast.Div):
        if right == 0:
            raise LmforgeError("division by zero.")
        if isinstance(left, int | Fraction) and isinstance(right, int | Fraction):
            return _simplify(Fraction(left) / Fraction(right))
        return left / right
    if type(node.op) not in _BINARY:
        raise LmforgeError(f"operator {ast.unparse(node)!r} is not allowed in the calculator.")
    if isinstance(node.op, ast.FloorDiv | ast.Mod) and right == 0:
        raise LmforgeError("division by zero.")
    return _simplify(_BINARY[type(node.op)](left, right))


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(exponent, int) and isinstance(base, int | Fraction):
        bits = abs(exponent) * max(1, _bits(base))
        if bits > MAX_BITS:
            raise LmforgeError(f"the result would have about {bits:,} bits; too large.")
        if base == 0 and exponent < 0:
            raise LmforgeError("zero cannot be raised to a negative power.")
        return _simplify(Fraction(base) ** exponent)
    if abs(exponent) > 10_000:
        raise LmforgeError("exponent too large.")
    try:
        result = float(base) ** float(exponent)
    except OverflowError:
        raise LmforgeError("the result is too large for a float.") from None
    if isinstance(result, complex):
        raise LmforgeError("the result is not a real number.")
    return result


def _function(name: str, args: list[Number]) -> Number:
    if name in ("abs", "min", "max") and args:
        return {"abs": abs, "min": min, "max": max}[name](*args)
    if name == "round" and len(args) in (1, 2):
        return round(*args)
    if name == "sqrt" and len(args) == 1:
        return _sqrt(args[0])
    if name == "gcd" and args and all(isinstance(a, int) for a in args):
        return math.gcd(*args)
    if name == "factorial" and len(args) == 1 and isinstance(args[0], int):
        if not 0 <= args[0] <= 5000:
            raise LmforgeError("factorial takes an integer from 0 to 5000.")
        return math.factorial(args[0])
    raise LmforgeError(f"{name}() with {len(args)} argument(s) is not available.", _FUNCTIONS_FIX)


def _sqrt(value: Number) -> Number:
    if value < 0:
        raise LmforgeError("square root of a negative number.")
    if isinstance(value, int):
        root = math.isqrt(value)
        if root * root == value:
            return root
    return math.sqrt(value)


def _simplify(value: Number) -> Number:
    return value.numerator if isinstance(value, Fraction) and value.denominator == 1 else value


def _bits(value: int | Fraction) -> int:
    value = Fraction(value)
    return max(abs(value.numerator).bit_length(), value.denominator.bit_length())
