/* Animated demonstrations of each technique (filled in by issue 15 item 8). */
