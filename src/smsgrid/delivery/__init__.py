"""smsgrid.delivery"""
