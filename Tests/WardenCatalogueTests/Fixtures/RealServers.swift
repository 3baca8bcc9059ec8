import WardenCatalogue
import WardenJSON

/// Tool definitions exactly as real servers list them (mcp-server-git and mcp-server-time
/// 2026.10.19, listed with the Python SDK), for tests that must hold on real descriptions.
enum RealServers {
    static let gitJSON = #"""
[
 {
  "name": "git_status",
  "description": "Shows the working tree status",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    }
   },
   "required": [
    "repo_path"
   ],
   "type": "object",
   "title": "statusArguments"
  },
  "annotations": {
   "readOnlyHint": true,
   "destructiveHint": false,
   "idempotentHint": true,
   "openWorldHint": false
  }
 },
 {
  "name": "git_diff_unstaged",
  "description": "Shows changes in the working directory that are not yet staged",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    },
    "context_lines": {
     "default": 3,
     "title": "Context Lines",
     "type": "integer"
    }
   },
   "required": [
    "repo_path"
   ],
   "type": "object",
   "title": "diff_unstagedArguments"
  },
  "annotations": {
   "readOnlyHint": true,
   "destructiveHint": false,
   "idempotentHint": true,
   "openWorldHint": false
  }
 },
 {
  "name": "git_diff_staged",
  "description": "Shows changes that are staged for commit",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    },
    "context_lines": {
     "default": 3,
     "title": "Context Lines",
     "type": "integer"
    }
   },
   "required": [
    "repo_path"
   ],
   "type": "object",
   "title": "diff_stagedArguments"
  },
  "annotations": {
   "readOnlyHint": true,
   "destructiveHint": false,
   "idempotentHint": true,
   "openWorldHint": false
  }
 },
 {
  "name": "git_diff",
  "description": "Shows differences between branches or commits",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    },
    "target": {
     "title": "Target",
     "type": "string"
    },
    "context_lines": {
     "default": 3,
     "title": "Context Lines",
     "type": "integer"
    }
   },
   "required": [
    "repo_path",
    "target"
   ],
   "type": "object",
   "title": "diffArguments"
  },
  "annotations": {
   "readOnlyHint": true,
   "destructiveHint": false,
   "idempotentHint": true,
   "openWorldHint": false
  }
 },
 {
  "name": "git_commit",
  "description": "Records changes to the repository",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    },
    "message": {
     "title": "Message",
     "type": "string"
    }
   },
   "required": [
    "repo_path",
    "message"
   ],
   "type": "object",
   "title": "commitArguments"
  },
  "annotations": {
   "readOnlyHint": false,
   "destructiveHint": false,
   "idempotentHint": false,
   "openWorldHint": false
  }
 },
 {
  "name": "git_add",
  "description": "Adds file contents to the staging area",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    },
    "files": {
     "items": {
      "type": "string"
     },
     "minItems": 1,
     "title": "Files",
     "type": "array"
    }
   },
   "required": [
    "repo_path",
    "files"
   ],
   "type": "object",
   "title": "addArguments"
  },
  "annotations": {
   "readOnlyHint": false,
   "destructiveHint": false,
   "idempotentHint": true,
   "openWorldHint": false
  }
 },
 {
  "name": "git_reset",
  "description": "Unstages all staged changes",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    }
   },
   "required": [
    "repo_path"
   ],
   "type": "object",
   "title": "resetArguments"
  },
  "annotations": {
   "readOnlyHint": false,
   "destructiveHint": true,
   "idempotentHint": true,
   "openWorldHint": false
  }
 },
 {
  "name": "git_log",
  "description": "Shows the commit logs",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    },
    "max_count": {
     "default": 10,
     "title": "Max Count",
     "type": "integer"
    },
    "start_timestamp": {
     "anyOf": [
      {
       "type": "string"
      },
      {
       "type": "null"
      }
     ],
     "default": null,
     "description": "Start timestamp for filtering commits. Accepts: ISO 8601 format (e.g., '2024-01-15T14:30:25'), relative dates (e.g., '2 weeks ago', 'yesterday'), or absolute dates (e.g., '2024-01-15', 'Jan 15 2024')",
     "title": "Start Timestamp"
    },
    "end_timestamp": {
     "anyOf": [
      {
       "type": "string"
      },
      {
       "type": "null"
      }
     ],
     "default": null,
     "description": "End timestamp for filtering commits. Accepts: ISO 8601 format (e.g., '2024-01-15T14:30:25'), relative dates (e.g., '2 weeks ago', 'yesterday'), or absolute dates (e.g., '2024-01-15', 'Jan 15 2024')",
     "title": "End Timestamp"
    }
   },
   "required": [
    "repo_path"
   ],
   "type": "object",
   "title": "logArguments"
  },
  "annotations": {
   "readOnlyHint": true,
   "destructiveHint": false,
   "idempotentHint": true,
   "openWorldHint": false
  }
 },
 {
  "name": "git_create_branch",
  "description": "Creates a new branch from an optional base branch",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    },
    "branch_name": {
     "title": "Branch Name",
     "type": "string"
    },
    "base_branch": {
     "anyOf": [
      {
       "type": "string"
      },
      {
       "type": "null"
      }
     ],
     "default": null,
     "title": "Base Branch"
    }
   },
   "required": [
    "repo_path",
    "branch_name"
   ],
   "type": "object",
   "title": "create_branchArguments"
  },
  "annotations": {
   "readOnlyHint": false,
   "destructiveHint": false,
   "idempotentHint": false,
   "openWorldHint": false
  }
 },
 {
  "name": "git_checkout",
  "description": "Switches branches",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    },
    "branch_name": {
     "title": "Branch Name",
     "type": "string"
    }
   },
   "required": [
    "repo_path",
    "branch_name"
   ],
   "type": "object",
   "title": "checkoutArguments"
  },
  "annotations": {
   "readOnlyHint": false,
   "destructiveHint": false,
   "idempotentHint": false,
   "openWorldHint": false
  }
 },
 {
  "name": "git_show",
  "description": "Shows the contents of a commit, or of a file or directory given as <revision>:<path>",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "title": "Repo Path",
     "type": "string"
    },
    "revision": {
     "title": "Revision",
     "type": "string"
    }
   },
   "required": [
    "repo_path",
    "revision"
   ],
   "type": "object",
   "title": "showArguments"
  },
  "annotations": {
   "readOnlyHint": true,
   "destructiveHint": false,
   "idempotentHint": true,
   "openWorldHint": false
  }
 },
 {
  "name": "git_branch",
  "description": "List Git branches",
  "inputSchema": {
   "properties": {
    "repo_path": {
     "description": "The path to the Git repository.",
     "title": "Repo Path",
     "type": "string"
    },
    "branch_type": {
     "description": "Whether to list local branches ('local'), remote branches ('remote') or all branches('all').",
     "title": "Branch Type",
     "type": "string"
    },
    "contains": {
     "anyOf": [
      {
       "type": "string"
      },
      {
       "type": "null"
      }
     ],
     "default": null,
     "description": "The commit sha that branch should contain. Do not pass anything to this param if no commit sha is specified",
     "title": "Contains"
    },
    "not_contains": {
     "anyOf": [
      {
       "type": "string"
      },
      {
       "type": "null"
      }
     ],
     "default": null,
     "description": "The commit sha that branch should NOT contain. Do not pass anything to this param if no commit sha is specified",
     "title": "Not Contains"
    }
   },
   "required": [
    "repo_path",
    "branch_type"
   ],
   "type": "object",
   "title": "branchArguments"
  },
  "annotations": {
   "readOnlyHint": true,
   "destructiveHint": false,
   "idempotentHint": true,
   "openWorldHint": false
  }
 }
]
"""#

    static let timeJSON = #"""
[
 {
  "name": "get_current_time",
  "description": "Get current time in a specific timezone",
  "inputSchema": {
   "properties": {
    "timezone": {
     "description": "IANA timezone name (e.g., 'America/New_York', 'Europe/London'). Use 'Etc/UTC' as local timezone if no timezone provided by the user.",
     "title": "Timezone",
     "type": "string"
    }
   },
   "required": [
    "timezone"
   ],
   "type": "object",
   "title": "get_current_timeArguments"
  },
  "outputSchema": {
   "properties": {
    "timezone": {
     "title": "Timezone",
     "type": "string"
    },
    "datetime": {
     "title": "Datetime",
     "type": "string"
    },
    "day_of_week": {
     "title": "Day Of Week",
     "type": "string"
    },
    "is_dst": {
     "title": "Is Dst",
     "type": "boolean"
    }
   },
   "required": [
    "timezone",
    "datetime",
    "day_of_week",
    "is_dst"
   ],
   "type": "object",
   "title": "TimeResult"
  },
  "annotations": {
   "readOnlyHint": true,
   "destructiveHint": false,
   "idempotentHint": true,
   "openWorldHint": false
  }
 },
 {
  "name": "convert_time",
  "description": "Convert time between timezones",
  "inputSchema": {
   "properties": {
    "source_timezone": {
     "description": "Source IANA timezone name (e.g., 'America/New_York', 'Europe/London'). Use 'Etc/UTC' as local timezone if no source timezone provided by the user.",
     "title": "Source Timezone",
     "type": "string"
    },
    "time": {
     "description": "Time to convert in 24-hour format (HH:MM)",
     "title": "Time",
     "type": "string"
    },
    "target_timezone": {
     "description": "Target IANA timezone name (e.g., 'Asia/Tokyo', 'America/San_Francisco'). Use 'Etc/UTC' as local timezone if no target timezone provided by the user.",
     "title": "Target Timezone",
     "type": "string"
    }
   },
   "required": [
    "source_timezone",
    "time",
    "target_timezone"
   ],
   "type": "object",
   "title": "convert_timeArguments"
  },
  "outputSchema": {
   "properties": {
    "source": {
     "$ref": "#/$defs/TimeResult"
    },
    "target": {
     "$ref": "#/$defs/TimeResult"
    },
    "time_difference": {
     "title": "Time Difference",
     "type": "string"
    }
   },
   "required": [
    "source",
    "target",
    "time_difference"
   ],
   "type": "object",
   "$defs": {
    "TimeResult": {
     "properties": {
      "timezone": {
       "title": "Timezone",
       "type": "string"
      },
      "datetime": {
       "title": "Datetime",
       "type": "string"
      },
      "day_of_week": {
       "title": "Day Of Week",
       "type": "string"
      },
      "is_dst": {
       "title": "Is Dst",
       "type": "boolean"
      }
     },
     "required": [
      "timezone",
      "datetime",
      "day_of_week",
      "is_dst"
     ],
     "title": "TimeResult",
     "type": "object"
    }
   },
   "title": "TimeConversionResult"
  },
  "annotations": {
   "readOnlyHint": true,
   "destructiveHint": false,
   "idempotentHint": true,
   "openWorldHint": false
  }
 }
]
"""#

    static var git: [ToolDefinition] { definitions(gitJSON) }
    static var time: [ToolDefinition] { definitions(timeJSON) }

    static func definitions(_ json: String) -> [ToolDefinition] {
        ((try? JSONReader.parse(json))?.arrayValue ?? []).compactMap(ToolDefinition.init(listEntry:))
    }
}
