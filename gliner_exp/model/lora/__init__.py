"""model/lora"""
