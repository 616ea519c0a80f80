#!/usr/bin/env python3
"""Sum the calls recorded in a callgrind output file to functions whose name contains NAME.

usage: callgrind_calls.py CALLGRIND_OUT NAME
callgrind compresses names: "cfn=(12) full name" defines id 12, later "cfn=(12)" reuses it;
each "calls=N ..." line that follows a cfn= line counts N calls to that function.
"""
import re
import sys

path, needle = sys.argv[1], sys.argv[2]
names = {}
total = 0
current = None
with open(path, errors="replace") as f:
    for line in f:
        m = re.match(r"^c?fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            if m.group(2):
                names[m.group(1)] = m.group(2)
            current = names.get(m.group(1), "") if line.startswith("cfn=") else None
            continue
        if line.startswith("calls=") and current is not None:
            if needle in current:
                total += int(line.split("=")[1].split()[0])
            current = None
print(total)
