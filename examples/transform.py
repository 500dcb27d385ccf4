"""Transform: steps that see the arguments in another shape.

``with builder.transform(func) as t:`` calls ``func`` with the process arguments; the dict it
returns is merged over them for the steps added through ``t``, and only for those. ``func``
may also return a ``(dict, description)`` pair to describe the scope. Transforms nest, and
steps added after the ``with`` block see the original arguments again.

    python examples/transform.py                      # Ada, 12345 cents, 20 % VAT
    python examples/transform.py Grace 9900 --vat 0   # your own customer and amount

The invoice lines are printed on stdout.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tasktronaut import Builder, Context, ProcessDefinition, logcfg


class Invoice(ProcessDefinition):
    """Turn an amount in cents into an invoice with VAT."""

    def define_process(self, builder: Builder) -> None:
        builder.expected_arguments(customer=str, cents=int, vat=float | None)
        with builder.transform(self.in_euros) as euros:
            euros.task(self.show_net)
            with euros.transform(self.with_vat) as taxed:
                taxed.task(self.show_total)
        builder.task(self.thank)

    def in_euros(self, cents: int) -> dict[str, Any]:
        return {"net": cents / 100}

    def with_vat(self, net: float, vat: float | None) -> tuple[dict[str, Any], str]:
        rate = 0.2 if vat is None else vat
        return {"total": round(net * (1 + rate), 2), "rate": rate}, f"With {rate:.0%} VAT"

    def show_net(self, customer: str, net: float) -> float:
        print(f"Invoice for {customer}: net {net:.2f} EUR")
        return net

    def show_total(self, total: float, rate: float, context: Context) -> float:
        print(f"{context.description}: total {total:.2f} EUR")
        return total

    def thank(self, customer: str, cents: int, **others: Any) -> str:
        # Added after the transforms: the original arguments, without "net" or "total".
        seen = ", ".join(sorted(["customer", "cents", *others]))
        print(f"Thank you, {customer} (this step sees: {seen})")
        return customer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write an invoice using transforms.")
    parser.add_argument("customer", nargs="?", default="Ada")
    parser.add_argument("cents", nargs="?", type=int, default=12345)
    parser.add_argument("--vat", type=float, default=None, help="VAT rate, e.g. 0.2")
    args = parser.parse_args(argv)
    logcfg()
    root = Invoice.run(customer=args.customer, cents=args.cents, vat=args.vat)
    return 0 if root.ready else 1


if __name__ == "__main__":
    sys.exit(main())
