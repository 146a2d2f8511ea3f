// Resource arithmetic and printing: the one definition of how RAM, disk and
// CPU quantities (msg::Resources) add, subtract, compare and print, used by
// sauron, elrond, strider and rv alike.
//
// Contract: all functions are pure and component-wise; Minus may go negative
// (elrond's ledger reads a negative as "over-committed"), MinusFloored never
// does (a strider's free space). Thread-safe.
#pragma once

#include <string>

#include "common/msg/types.h"

namespace rv {

msg::Resources Plus(const msg::Resources& a, const msg::Resources& b);
msg::Resources Minus(const msg::Resources& a, const msg::Resources& b);
msg::Resources MinusFloored(const msg::Resources& a, const msg::Resources& b);  // floors at 0
msg::Resources Min(const msg::Resources& a, const msg::Resources& b);
// Every quantity of `want` is at most that of `free`.
bool Fits(const msg::Resources& want, const msg::Resources& free);
bool AnyNegative(const msg::Resources& r);

// "512MB RAM, 1024MB disk, 250m CPU": logs, reasons and errors.
std::string Describe(const msg::Resources& r);
// "512M/1024M/250m" (RAM/disk/CPU): a table cell.
std::string DescribeShort(const msg::Resources& r);

}  // namespace rv
