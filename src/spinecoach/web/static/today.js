/* Today: the home page plan and navigation (issue 15 items 1, 9). */
