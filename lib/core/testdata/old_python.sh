#!/bin/sh
# An interpreter that answers the probe as Python 3.6 would.
echo "3.6.9	"
