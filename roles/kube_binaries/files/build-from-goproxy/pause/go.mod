module cloudnative.local/pause

go 1.22
