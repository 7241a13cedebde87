#!/bin/sh
# Packages installed in a node (apt in the roles) must not start daemons themselves: supervisor runs them.
exit 101
