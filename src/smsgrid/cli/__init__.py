"""smsgrid.cli"""
