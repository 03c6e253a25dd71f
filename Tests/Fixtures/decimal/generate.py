#!/usr/bin/env python3
"""Generates decimal128.jsonl.gz (gzip, ~3 MB; 120,000 lines): decimal128 cases with results from Python's `decimal` module
(the IEEE 754-2008 decimal128 context), the oracle for strata's Swift Decimal128
(Tests/StrataEvaluatorTests/Decimal128OracleTests.swift).

Each line: [family, operand..., expected]. Decimals are written in to-sci-string form
(Python's str(), which is also mongod's Decimal128::toString format; every NaN as "NaN"),
doubles as float.hex(). Deterministic: seed 11.

Families (10,000 cases each):
  add, sub, mul, div       context arithmetic (divisor never zero: mongod refuses it)
  fmod                     mongod's modulo (Intel bid128_fmod): exact x - y*trunc(x/y), sign of
                           x, exponent min(ex, ey); computed with integers, checked against
                           Python's remainder where that is defined
  sqrt                     context square root (operands >= 0 or NaN: mongod refuses negatives)
  quantize                 mongod's Decimal128::quantize as $round/$trunc (guarded: the 34-digit
                           form x + 0E-6176 when its exponent is above the target) and
                           $ceil/$floor (reference 0E0: plain IEEE quantize) use it
  cmp                      mongod's compareDecimals (NaN == NaN, NaN below everything)
  from_double34            Decimal128(double, kRoundTo34Digits) = create_decimal_from_float
  from_double15            Decimal128(double) = the above quantized to exactly 15 digits
  to_double                nearest double (ties to even)
  cmp_double               mongod's compareDecimalToDouble: exact (NaN == NaN, below all)
  parse                    string -> decimal128, rounded half even

A second file, decimal128-transcendental.jsonl.gz (gzip, ~1.3 MB; 50,000 lines; seed 12;
Tests/StrataEvaluatorTests/Decimal128TranscendentalOracleTests.swift), 10,000 cases each of:
  exp, ln, log10           the context's exp/ln/log10 (correctly rounded); negative and zero
                           operands too (NaN, -Infinity), though mongod refuses them before
  log                      mongod's $log on decimals: ln(x) / ln(b), each rounded
  pow                      mongod's Decimal128::power: IEEE 754-2008 pow's special cases (as
                           Intel's bid128_pow), else Python's power at 120 digits rounded once to
                           decimal128 (its 34-digit power misrounds some ties), then + 0E-6176
Inputs cover NaN, infinities, signed zeros, subnormals, overflow and underflow edges, values
near 1, powers of ten in several cohorts, integral and fractional exponents, exact powers.

A third file, decimal128-trigonometric.jsonl.gz (gzip, ~0.7 MB; 28,224 lines; seed 13;
Tests/StrataEvaluatorTests/Decimal128TrigonometricOracleTests.swift), needs mpmath (Python's
`decimal` has no trigonometry): 2,000 cases each of sin, cos, tan, asin, acos, atan, sinh,
cosh, tanh, asinh, acosh, atanh and atan2 (mpmath at 130+ digits, more for large arguments
and very different atan2 magnitudes, printed to 110+ digits and rounded once), 500 each of
mongod's decimal degreesToRadians / radiansToDegrees (x times kPi/180 or 180/kPi, kPi the
51-digit string rounded to 34). Special and exact cases (NaN, infinities, zeros, domain
edges) follow strata's documented conventions. Inputs: near multiples of pi/2 (k up to
10^30, and 1,224 sin/cos/tan cases from continued-fraction convergents of pi/2 / 10^e and
their neighbours: remainders down to 10^-35 for arguments up to 10^6088), the whole
exponent range, tiny and huge arguments, values near +-1, 120 and the overflow edge of
sinh/cosh.
"""
import gzip, json, random, math, struct, os
from decimal import (Decimal, Context, ROUND_HALF_EVEN, ROUND_DOWN, ROUND_CEILING, ROUND_FLOOR,
                     InvalidOperation)

CTX = Context(prec=34, Emax=6144, Emin=-6143, clamp=1, rounding=ROUND_HALF_EVEN, traps=[])
N = 10000
rng = random.Random(11)


def s(d):
    return "NaN" if d.is_nan() else str(d)


def rand_decimal(nonneg=False):
    r = rng.random()
    sign = 0 if nonneg else rng.randint(0, 1)
    if r < 0.04:
        return rng.choice([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")]) if not nonneg \
            else rng.choice([Decimal("NaN"), Decimal("Infinity")])
    if r < 0.08:
        e = rng.choice([0, -1, -2, 3, -6176, 6111, rng.randint(-6176, 6111)])
        return Decimal((sign, (0,), e))
    nd = rng.choice([1, 1, 2, 3, 5, 8, 15, 17, 20, 33, 34, 34, 34, rng.randint(1, 34)])
    coef = rng.randint(10 ** (nd - 1), 10 ** nd - 1)
    if rng.random() < 0.15:  # cohorts: trailing zeros
        z = rng.randint(1, 5)
        coef = int(str(coef)[: max(1, nd - z)] + "0" * z) if nd > z else coef * 10 ** z
        coef = min(coef, 10 ** 34 - 1)
    r2 = rng.random()
    if r2 < 0.6:
        e = rng.randint(-40, 20)
    elif r2 < 0.75:
        e = rng.randint(-6176, -6100)
    elif r2 < 0.9:
        e = rng.randint(6060, 6111)
    else:
        e = rng.randint(-6176, 6111)
    return Decimal((sign, tuple(int(c) for c in str(coef)), e))


def related(a):
    """An operand near a's magnitude (cancellation, ties, equal values in other cohorts)."""
    if not a.is_finite() or rng.random() < 0.5:
        return rand_decimal()
    t = a.as_tuple()
    choice = rng.random()
    if choice < 0.3:  # same value, another cohort
        k = rng.randint(0, 34 - len(t.digits))
        if t.exponent - k >= -6176:
            return Decimal((rng.randint(0, 1), t.digits + (0,) * k, t.exponent - k))
    if choice < 0.6:  # shifted exponent
        return Decimal((rng.randint(0, 1), t.digits, max(-6176, min(6111, t.exponent + rng.randint(-40, 40)))))
    nd = rng.randint(1, 34)
    return Decimal((rng.randint(0, 1), tuple(int(c) for c in str(rng.randint(1, 10 ** nd - 1))),
                    max(-6176, min(6111, t.exponent + rng.randint(-3, 3)))))


def fmod(a, b):
    if a.is_nan() or b.is_nan() or a.is_infinite() or b.is_zero():
        return Decimal("NaN")
    if b.is_infinite():
        return a
    ta, tb = a.as_tuple(), b.as_tuple()
    ca, cb = int("".join(map(str, ta.digits))), int("".join(map(str, tb.digits)))
    e = min(ta.exponent, tb.exponent)
    r = (ca * 10 ** (ta.exponent - e)) % (cb * 10 ** (tb.exponent - e))
    res = Decimal((ta.sign, tuple(int(c) for c in str(r)), e))
    with_ctx = CTX.remainder(a, b)  # where defined (quotient fits 34 digits), must agree
    if not with_ctx.is_nan():
        assert str(with_ctx) == str(res) or with_ctx == res, (a, b, with_ctx, res)
    return res


def mongo_quantize(x, target, rounding, guarded):
    if x.is_nan():
        return Decimal("NaN")
    if guarded and x.is_finite():
        # mongod compares the 34-digit forms: x + 0E-6176 and the reference 1E(target)'s,
        # whose exponent is target - 33; the biased exponent of 0E0's (the $ceil/$floor
        # reference) is 0, which skips the check
        n = CTX.add(x, Decimal((0, (0,), -6176)))
        ref = CTX.add(Decimal((0, (1,), target)), Decimal((0, (0,), -6176)))
        if n.as_tuple().exponent - ref.as_tuple().exponent > 33:
            return n
    c = CTX.copy()
    c.rounding = rounding
    return x.quantize(Decimal((0, (1,), target)), context=c)


def rand_double():
    r = rng.random()
    if r < 0.3:
        return struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
    if r < 0.6:
        return rng.uniform(-1e6, 1e6)
    if r < 0.8:
        return float(rng.randint(-10 ** 6, 10 ** 6)) / rng.choice([1, 2, 4, 10, 100, 1000])
    if r < 0.9:
        return rng.choice([0.1, 0.2, 0.3, 1.1, 2.675, 1e15, 1e16, 1e22, 1e23, 5e-324, 2.2250738585072014e-308,
                           1.7976931348623157e308, -0.0, 0.0, 9.999999999999999e22, 0.9999999999999994])
    return math.ldexp(rng.random(), rng.randint(-1074, 1023))


def from_double34(d):
    return CTX.create_decimal_from_float(d)


def from_double15(d):
    if d == 0 or math.isinf(d) or math.isnan(d):
        return from_double34(d)
    x = from_double34(d)
    adj = x.adjusted()
    q = x.quantize(Decimal((0, (1,), adj - 14)), context=CTX)
    if len(q.as_tuple().digits) > 15:
        q = x.quantize(Decimal((0, (1,), adj - 13)), context=CTX)
    assert len(q.as_tuple().digits) == 15, (d, q)
    return q


def rand_string():
    r = rng.random()
    if r < 0.1:
        return rng.choice(["NaN", "nan", "-Infinity", "inf", "+inf", "-0", "0.000", "-0E+3", ".5", "5.", "1e6145",
                           "1e-6177", "9.9999999999999999999999999999999995E+6144", "-1E-6176"])
    nd = rng.randint(1, 60)
    digits = str(rng.randint(0, 10 ** nd - 1)).zfill(nd)
    if rng.random() < 0.3:
        digits = digits[:-rng.randint(1, nd)] + "5" + "0" * rng.randint(0, 30)
    if rng.random() < 0.5 and len(digits) > 1:
        p = rng.randint(0, len(digits) - 1)
        digits = digits[:p] + "." + digits[p:]
    if rng.random() < 0.5:
        digits += "E" + str(rng.randint(-6250, 6200))
    return rng.choice(["", "-", "+"]) + digits


def main():
    out = []
    for fam, op in [("add", CTX.add), ("sub", CTX.subtract), ("mul", CTX.multiply)]:
        for _ in range(N):
            a = rand_decimal(); b = related(a)
            out.append([fam, s(a), s(b), s(op(a, b))])
    for _ in range(N):
        a = rand_decimal(); b = related(a)
        while b.is_zero():
            b = rand_decimal()
        out.append(["div", s(a), s(b), s(CTX.divide(a, b))])
    for _ in range(N):
        a = rand_decimal(); b = related(a)
        while b.is_zero():
            b = rand_decimal()
        out.append(["fmod", s(a), s(b), s(fmod(a, b))])
    for _ in range(N):
        a = rand_decimal(nonneg=True)
        out.append(["sqrt", s(a), s(CTX.sqrt(a))])
    modes = {"even": ROUND_HALF_EVEN, "zero": ROUND_DOWN, "up": ROUND_CEILING, "down": ROUND_FLOOR}
    for _ in range(N):
        a = rand_decimal()
        if rng.random() < 0.5 and a.is_finite():
            t = a.as_tuple()
            a = Decimal((t.sign, t.digits, rng.randint(-45, 10)))
        m = rng.choice(list(modes))
        guarded = m in ("even", "zero")  # $round / $trunc; $ceil / $floor (target 0) are not
        target = rng.randint(-100, 20) if guarded or rng.random() < 0.3 else 0
        out.append(["quantize", s(a), target, m, s(mongo_quantize(a, target, modes[m], guarded)), guarded])
    for _ in range(N):
        a = rand_decimal(); b = related(a)
        if a.is_nan() or b.is_nan():
            c = 0 if a.is_nan() and b.is_nan() else (-1 if a.is_nan() else 1)
        else:
            c = int(a.compare(b))
        out.append(["cmp", s(a), s(b), c])
    for _ in range(N):
        d = rand_double()
        out.append(["from_double34", d.hex(), s(from_double34(d))])
    for _ in range(N):
        d = rand_double()
        out.append(["from_double15", d.hex(), s(from_double15(d))])
    for _ in range(N):
        a = rand_decimal()
        out.append(["to_double", s(a), float(a).hex()])
    for _ in range(N):
        r = rng.random()
        if r < 0.4:  # a double and a decimal near it: its 15- and 34-digit forms, neighbours
            x = rand_double()
            base = from_double34(x) if rng.random() < 0.5 else from_double15(x)
            a = base if rng.random() < 0.5 or not base.is_finite() else CTX.next_toward(base, Decimal(rng.choice(["1E+7000", "-1E+7000"])))
        else:
            a = rand_decimal()
            x = float(a) if rng.random() < 0.6 else rand_double()
        if a.is_nan() or math.isnan(x):
            c = 0 if a.is_nan() and math.isnan(x) else (-1 if a.is_nan() else 1)
        else:
            c = int(a.compare(Decimal(x)))  # Decimal(float) is exact
        out.append(["cmp_double", s(a), x.hex(), c])
    for _ in range(N):
        t = rand_string()
        out.append(["parse", t, s(CTX.create_decimal(t))])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "decimal128.jsonl.gz")
    text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in out).encode()
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0,
                                               filename="") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------------
# decimal128-transcendental.jsonl.gz: exp, ln, log10, log (mongod's ln(x) / ln(b)) and pow
# (mongod's Decimal128::power: IEEE 754-2008 pow, then + 0E-6176). Its own generator (seed 12),
# so the file above stays as it was.

trng = random.Random(12)
ZERO_MIN = Decimal((0, (0,), -6176))
HI = Context(prec=120, Emax=10 ** 9, Emin=-10 ** 9, rounding=ROUND_HALF_EVEN, traps=[])


def digits_decimal(sign, nd, e):
    coef = trng.randint(10 ** (nd - 1), 10 ** nd - 1)
    return Decimal((sign, tuple(int(c) for c in str(coef)), e))


def t_any(sign=None):
    """Any decimal128: specials, zeros, full and short coefficients over the whole range."""
    sign = trng.randint(0, 1) if sign is None else sign
    r = trng.random()
    if r < 0.05:
        return trng.choice([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
    if r < 0.1:
        return Decimal((sign, (0,), trng.choice([0, -1, 3, -6176, 6111, trng.randint(-6176, 6111)])))
    nd = trng.choice([1, 2, 3, 5, 10, 17, 34, 34, trng.randint(1, 34)])
    r2 = trng.random()
    e = trng.randint(-40, 10) if r2 < 0.6 else (trng.randint(-6176, -6100) if r2 < 0.75 else (
        trng.randint(6060, 6111) if r2 < 0.85 else trng.randint(-6176, 6111)))
    return digits_decimal(sign, nd, e)


def t_moderate(sign=None, lo=-40, hi=5):
    """A finite nonzero decimal with adjusted exponent in [lo, hi]."""
    sign = trng.randint(0, 1) if sign is None else sign
    nd = trng.choice([1, 2, 3, 6, 15, 20, 34, 34, trng.randint(1, 34)])
    adj = trng.randint(lo, hi)
    return digits_decimal(sign, nd, adj - nd + 1)


def t_near_one():
    """1 ± a small random amount: cancellation in ln and log10."""
    k = trng.randint(1, 34)
    delta = t_moderate(0, -k - 1, -k)
    x = CTX.add(Decimal(1), delta) if trng.random() < 0.5 else CTX.subtract(Decimal(1), delta)
    return x


def t_power_of_ten():
    n = trng.randint(-6176, 6111)
    z = trng.randint(0, 33)
    e = max(-6176, n - z)
    return Decimal((0, (1,) + (0,) * (n - e), e))


def exp_input():
    r = trng.random()
    if r < 0.15:
        return t_any()
    if r < 0.5:
        return t_moderate(lo=-40, hi=4)
    if r < 0.6:  # around overflow (ln 9.99E+6144 = 14149.39) and underflow into subnormals
        base = trng.choice(["14149", "14150", "-14140", "-14170", "-14200", "-14221", "-14222", "-14145"])
        return CTX.add(Decimal(base), t_moderate(lo=-30, hi=1))
    if r < 0.7:  # tiny: exp is 1 to 34 digits, or 0.99...
        return t_moderate(lo=-45, hi=-30)
    if r < 0.8:  # integers and short values
        return Decimal(trng.randint(-15000, 15000)) / Decimal(trng.choice([1, 1, 10, 100, 1000]))
    return t_moderate(lo=-5, hi=1)


def log_input():
    r = trng.random()
    if r < 0.1:
        return t_any()
    if r < 0.2:
        return t_power_of_ten()
    if r < 0.35:
        return t_near_one()
    if r < 0.55:
        return t_any(sign=0)
    if r < 0.6:  # subnormal
        return digits_decimal(0, trng.randint(1, 20), -6176)
    return t_moderate(0, lo=-40, hi=40)


def ieee_pow(x, y):
    """IEEE 754-2008 pow's special cases (Intel's bid128_pow), Python's power otherwise."""
    if y.is_zero():
        return Decimal(1)
    if x.is_finite() and not x.is_signed() and x == 1:
        return Decimal(1)
    if x.is_nan() or y.is_nan():
        return Decimal("NaN")
    yint = y.is_finite() and (y.as_tuple().exponent >= 0 or y == y.to_integral_value())
    yodd = yint and y.as_tuple().exponent <= 0 and int(y) % 2 == 1
    if y.is_infinite():
        if x.is_finite() and x == -1:
            return Decimal(1)
        big = abs(x) > 1
        return Decimal("Infinity") if big != y.is_signed() else Decimal(0)
    neg = 1 if x.is_signed() and yodd else 0
    if x.is_infinite():
        return Decimal((neg, (0,), 0)) if y < 0 else Decimal((neg, (0,), "F"))
    if x.is_zero():
        return Decimal((neg, (0,), "F")) if y < 0 else Decimal((neg, (0,), 0))
    if x < 0 and not yint:
        return Decimal("NaN")
    # Python's power at 34 digits misrounds some ties and near-ties (1.000000000019 ** -5000,
    # (-5.22) ** 39, an exact 35-digit tie from 4.3195193013025E-63 ** 2.5): power at 120
    # digits, then rounded once to decimal128
    return CTX.plus(HI.power(x, y))


def mongo_power(x, y):
    return CTX.add(ieee_pow(x, y), ZERO_MIN)


def pow_input():
    r = trng.random()
    if r < 0.08:
        return t_any(), t_any()
    if r < 0.3:  # integral exponents: exact powers, overflow, underflow, negative bases
        x = t_moderate(lo=-10, hi=10) if trng.random() < 0.8 else t_any()
        n = trng.choice([trng.randint(-40, 40), trng.randint(-3000, 3000), trng.randint(2, 5)])
        y = Decimal(n)
        if trng.random() < 0.2:
            y = Decimal((1 if n < 0 else 0, tuple(int(c) for c in str(abs(n))) + (0,) * 2, -2))  # 3.00
        return x, y
    if r < 0.42:  # perfect powers with fractional exponents: exact results
        root = t_moderate(0, lo=-5, hi=5)
        root = Decimal((0, root.as_tuple().digits[:trng.randint(1, 8)], root.as_tuple().exponent))
        k, y = trng.choice([(2, "0.5"), (4, "0.25"), (2, "1.5"), (2, "-0.5"), (5, "0.2"), (8, "0.125"), (2, "2.5")])
        return CTX.power(root, Decimal(k)), Decimal(y)
    if r < 0.5:  # base 10 and 2: mongod's exp10 / exp2
        return Decimal(trng.choice(["10", "2", "10.0", "2.00", "1E+1"])), trng.choice(
            [t_moderate(lo=-10, hi=3), Decimal(trng.randint(-6200, 6200))])
    if r < 0.6:  # near 1, large exponents
        return t_near_one(), t_moderate(lo=0, hi=38)
    if r < 0.7:  # negative bases
        return t_moderate(1, lo=-5, hi=5), (Decimal(trng.randint(-50, 50)) if trng.random() < 0.7 else t_moderate(lo=-3, hi=1))
    if r < 0.75:  # zero bases, specials as the exponent
        return trng.choice([Decimal(0), Decimal("-0"), Decimal("0E-30"), Decimal(1), Decimal(-1), Decimal("Infinity"),
                            Decimal("-Infinity"), Decimal("0.5"), Decimal("2")]), trng.choice(
            [Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN"), Decimal(3), Decimal(-3), Decimal("0.5"),
             Decimal("-0.5"), Decimal(2), Decimal("-0"), Decimal("1E+50")])
    return t_moderate(0, lo=-20, hi=20), t_moderate(lo=-20, hi=4)


def transcendental():
    out = []
    for _ in range(N):
        a = exp_input()
        out.append(["exp", s(a), s(CTX.exp(a))])
    for _ in range(N):
        a = log_input()
        out.append(["ln", s(a), s(CTX.ln(a))])
    for _ in range(N):
        a = log_input()
        out.append(["log10", s(a), s(CTX.log10(a))])
    for _ in range(N):
        a = log_input()
        b = log_input()
        while b == 1:
            b = log_input()
        out.append(["log", s(a), s(b), s(CTX.divide(CTX.ln(a), CTX.ln(b)))])
    for _ in range(N):
        a, b = pow_input()
        out.append(["pow", s(a), s(b), s(mongo_power(a, b))])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "decimal128-transcendental.jsonl.gz")
    text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in out).encode()
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0,
                                               filename="") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------------
# decimal128-trigonometric.jsonl.gz: mpmath (binary floating point at 400+ bits, its own
# argument reduction and series; independent of strata's fixed-point code) evaluated at
# high precision, printed to 110 digits and rounded once to decimal128 (half even).

TRIG_N = 2000
grng = random.Random(13)
TRIG_UNARY = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh"]


def g_digits(sign, nd, e):
    return Decimal((sign, tuple(int(c) for c in str(grng.randint(10 ** (nd - 1), 10 ** nd - 1))), e))


def g_nd():
    return grng.choice([1, 2, 3, 7, 16, 33, 34, 34, 34, grng.randint(1, 34)])


def g_magnitude(lo, hi, sign=None):
    """A value whose adjusted exponent is in [lo, hi]."""
    nd = g_nd()
    adj = grng.randint(lo, hi)
    return g_digits(grng.randint(0, 1) if sign is None else sign, nd, max(-6176, min(6111, adj - nd + 1)))


def g_special():
    return grng.choice([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal(0), Decimal("-0"),
                        Decimal("0E-30"), Decimal("-0E+12"), Decimal("1E-6176"), Decimal("-1E-6176"),
                        Decimal("9.999999999999999999999999999999999E+6144"), Decimal("1E-40"), Decimal("1E-39"),
                        Decimal(1), Decimal(-1), Decimal("1.000"), Decimal("0.9999999999999999999999999999999999"),
                        Decimal("-0.9999999999999999999999999999999999"), Decimal("1.000000000000000000000000000000001"),
                        Decimal("0.5"), Decimal("-0.5"), Decimal(120), Decimal(-120), Decimal("119.9999999999999999999999999999999"),
                        Decimal(100000), Decimal("-14000"), Decimal("1E+70"), Decimal("1E+69")])


def near_pi_multiple():
    """k π/2 (k up to 10^30) rounded to decimal128, or a neighbour."""
    import mpmath
    k = grng.randint(1, 10 ** grng.randint(1, 30))
    with mpmath.workdps(150):
        v = k * mpmath.pi / 2
        d = CTX.create_decimal(mpmath.libmp.to_str(v._mpf_, 140))
    step = grng.choice([0, 0, 1, -1, 2])
    if step:
        t = d.as_tuple()
        d = CTX.add(d, Decimal((0 if step > 0 else 1, (abs(step),), t.exponent)))
    return d if grng.random() < 0.8 else -d


def trig_input(fam):
    r = grng.random()
    if r < 0.08:
        return g_special()
    if fam in ("asin", "acos", "atanh"):
        if r < 0.12:
            return g_magnitude(0, 3)  # out of the domain (|x| ≥ 1)
        if r < 0.3:  # near ±1
            nd = grng.randint(20, 34)
            return Decimal((grng.randint(0, 1), (9,) * grng.randint(1, nd - 1) + tuple(grng.randint(0, 9) for _ in range(1)), -nd + 1 - 1)) \
                if grng.random() < 0.5 else CTX.subtract(Decimal(1), g_magnitude(-34, -5, 0)).copy_sign(Decimal(grng.choice([1, -1])))
        if r < 0.45:
            return g_magnitude(-6176, -30)
        return g_magnitude(-29, -1)
    if fam == "acosh":
        if r < 0.12:
            return g_magnitude(-5, 0, grng.randint(0, 1))  # below 1 (mostly)
        if r < 0.3:
            return CTX.add(Decimal(1), g_magnitude(-34, -1, 0))
        if r < 0.45:
            return g_magnitude(0, 6144, 0)
        return g_magnitude(0, 80, 0)
    if fam in ("sin", "cos", "tan"):
        if r < 0.3:
            return near_pi_multiple()
        if r < 0.45:
            return g_magnitude(-6176, 6144)
        if r < 0.55:
            return g_magnitude(-50, -10)
        return g_magnitude(-5, 40)
    if fam in ("sinh", "cosh", "tanh"):
        if r < 0.2:
            return g_magnitude(-6176, 6144)
        if r < 0.35:
            return g_magnitude(-45, -20)
        if r < 0.5:
            return Decimal(grng.randint(100, 14200)) + g_magnitude(-30, -1, 0) if grng.random() < 0.9 else -g_magnitude(2, 4, 0)
        return g_magnitude(-10, 2)
    # atan, asinh
    if r < 0.3:
        return g_magnitude(-6176, 6144)
    if r < 0.4:
        return g_magnitude(-45, -30)
    return g_magnitude(-20, 80)


def mp_round(v, digits=110):
    import mpmath
    if mpmath.isinf(v):
        return Decimal("-Infinity") if v < 0 else Decimal("Infinity")
    return CTX.create_decimal(mpmath.libmp.to_str(v._mpf_, digits, strip_zeros=False))


def pi_convergents():
    """x = c × 10^e, c/q the last continued-fraction convergent of π/(2 × 10^e) with c below
    10^34: x − q π/2 about 10^-34 relative to x or smaller (sin/cos/tan lose those digits to the
    argument reduction); exponents -33..39 and then every 97th up to 6111."""
    import mpmath
    out = []
    for e in list(range(-33, 40)) + list(range(40, 6112, 97)):
        with mpmath.workdps(80 + max(0, e)):
            a = mpmath.pi / 2 / mpmath.mpf(10) ** e
            h0, h1, k0, k1 = 0, 1, 1, 0
            best = None
            for _ in range(200):
                ai = int(mpmath.floor(a))
                h0, h1 = h1, ai * h1 + h0
                k0, k1 = k1, ai * k1 + k0
                if h1 >= 10 ** 34:
                    break
                if k1 > 0:
                    best = h1
                frac = a - ai
                if frac == 0:
                    break
                a = 1 / frac
        if best:
            out.append(Decimal((0, tuple(int(ch) for ch in str(best)), e)))
    return out


def trig_expected(fam, x, extra=0):
    """strata's conventions for the exact and special cases, mpmath for the rest."""
    import mpmath
    if x.is_nan():
        return Decimal("NaN")
    def pi(num, den):
        with mpmath.workdps(130):
            return mp_round(mpmath.mpf(num) * mpmath.pi / den)
    if x.is_infinite():
        neg = x.is_signed()
        return {"sin": Decimal("NaN"), "cos": Decimal("NaN"), "tan": Decimal("NaN"), "asin": Decimal("NaN"),
                "acos": Decimal("NaN"), "atanh": Decimal("NaN"), "atan": pi(-1 if neg else 1, 2), "sinh": x,
                "cosh": Decimal("Infinity"), "tanh": Decimal(-1 if neg else 1), "asinh": x,
                "acosh": Decimal("NaN") if neg else x}[fam]
    if x.is_zero():
        if fam in ("cos", "cosh"):
            return Decimal(1)
        if fam == "acos":
            return pi(1, 2)
        if fam == "acosh":
            return Decimal("NaN")
        return x  # the odd functions: the zero itself
    if fam in ("asin", "acos", "atanh") and x.copy_abs() > 1 or fam == "acosh" and x < 1:
        return Decimal("NaN")
    if fam == "acosh" and x == 1 or fam == "acos" and x == 1:
        return Decimal(0)
    if fam == "atanh" and x.copy_abs() == 1:
        return Decimal("-Infinity") if x < 0 else Decimal("Infinity")
    adj = x.adjusted()
    with mpmath.workdps(130 + extra + max(0, adj)):
        m = mpmath.mpf(x.to_eng_string()) if adj < 500 else mpmath.mpf(int("".join(map(str, x.as_tuple().digits)))) * mpmath.mpf(10) ** x.as_tuple().exponent * (-1 if x.is_signed() else 1)
        if fam in ("sinh", "cosh") and x.copy_abs() > 15000:
            return Decimal("Infinity") if fam == "cosh" or x > 0 else Decimal("-Infinity")
        v = getattr(mpmath, fam)(m)
        return mp_round(v)


def trig_atan2_input():
    r = grng.random()
    if r < 0.15:
        return grng.choice([g_special(), g_magnitude(-10, 10)]), grng.choice([g_special(), g_magnitude(-10, 10)])
    if r < 0.3:  # very different magnitudes
        return g_magnitude(-6176, 6144), g_magnitude(-6176, 6144)
    if r < 0.4:  # ratio below 1E-41: y/x rounded as if slightly smaller (ties, exact quotients)
        y = g_digits(grng.randint(0, 1), grng.randint(1, 34), grng.randint(-200, -60))
        x = grng.choice([Decimal(2), Decimal(4), Decimal("0.5"), Decimal(8), Decimal(5), g_magnitude(-3, 3)])
        return y, x if grng.random() < 0.8 else -x
    return g_magnitude(-20, 20), g_magnitude(-20, 20)


def atan2_expected(y, x):
    import mpmath
    if y.is_nan() or x.is_nan():
        return Decimal("NaN")
    neg = y.is_signed()
    sz = Decimal("-0") if neg else Decimal(0)
    def pi(num, den):
        with mpmath.workdps(130):
            return mp_round(mpmath.mpf(-num if neg else num) * mpmath.pi / den)
    if y.is_infinite():
        if x.is_infinite():
            return pi(3 if x.is_signed() else 1, 4)
        return pi(1, 2)
    if x.is_infinite():
        return pi(1, 1) if x.is_signed() else sz
    if y.is_zero():
        return pi(1, 1) if x.is_signed() else sz
    if x.is_zero():
        return pi(1, 2)
    # an exact quotient y/x can be a tie, and atan(y/x) departs from it by (y/x)^3/3: enough
    # digits to see that
    prec = 130 + 3 * abs(y.adjusted() - x.adjusted())
    with mpmath.workdps(prec):
        ym = mpmath.mpf(int("".join(map(str, y.as_tuple().digits)))) * mpmath.mpf(10) ** y.as_tuple().exponent * (-1 if neg else 1)
        xm = mpmath.mpf(int("".join(map(str, x.as_tuple().digits)))) * mpmath.mpf(10) ** x.as_tuple().exponent * (-1 if x.is_signed() else 1)
        return mp_round(mpmath.atan2(ym, xm), prec - 20)


def trigonometric():
    import sys
    sys.set_int_max_str_digits(0)
    out = []
    for fam in TRIG_UNARY:
        for _ in range(TRIG_N):
            x = trig_input(fam)
            out.append([fam, s(x), s(trig_expected(fam, x))])
    for x in pi_convergents():
        for fam in ("sin", "cos", "tan"):
            for v in (x, CTX.next_plus(x), -CTX.next_minus(x)):
                out.append([fam, s(v), s(trig_expected(fam, v, extra=150))])
    for _ in range(TRIG_N):
        y, x = trig_atan2_input()
        out.append(["atan2", s(y), s(x), s(atan2_expected(y, x))])
    # mongod's $degreesToRadians / $radiansToDegrees on decimals: x × kPiOver180 / k180OverPi,
    # constants from kPi (51 digits, rounded to 34) by decimal division
    kpi = CTX.create_decimal("3.14159265358979323846264338327950288419716939937510")
    for _ in range(TRIG_N // 4):
        x = trig_input("atan")
        out.append(["degreesToRadians", s(x), s(CTX.multiply(x, CTX.divide(kpi, Decimal(180))))])
        out.append(["radiansToDegrees", s(x), s(CTX.multiply(x, CTX.divide(Decimal(180), kpi)))])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "decimal128-trigonometric.jsonl.gz")
    text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in out).encode()
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0,
                                               filename="") as f:
        f.write(text)


if __name__ == "__main__":
    main()
    transcendental()
    trigonometric()
