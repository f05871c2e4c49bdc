window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1710000000000000000"
          ],
          "editableUntil" : "2023-02-18T20:15:15.000Z"
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "Ada Lindqvist",
            "screen_name" : "ada_l",
            "indices" : [
              "0",
              "6"
            ],
            "id_str" : "1700000000000000101",
            "id" : "1700000000000000101"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "120"
      ],
      "favorite_count" : "1",
      "id_str" : "1710000000000000000",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1710000000000000000",
      "created_at" : "Sat Feb 18 19:45:15 +0000 2023",
      "favorited" : false,
      "full_text" : "@ada_l a post about bridges &amp; rivers",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1710000000000000001"
          ],
          "editableUntil" : "2023-02-18T20:15:15.000Z"
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "Bruno Moreau",
            "screen_name" : "bruno_m",
            "indices" : [
              "0",
              "8"
            ],
            "id_str" : "1700000000000000102",
            "id" : "1700000000000000102"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "120"
      ],
      "favorite_count" : "1",
      "id_str" : "1710000000000000001",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1710000000000000001",
      "created_at" : "Sat Feb 18 19:45:15 +0000 2023",
      "favorited" : false,
      "full_text" : "@bruno_m a post about bridges &amp; rivers",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1710000000000000002"
          ],
          "editableUntil" : "2023-02-18T20:15:15.000Z"
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "Chiara Rossi",
            "screen_name" : "chiara_r",
            "indices" : [
              "0",
              "9"
            ],
            "id_str" : "1700000000000000103",
            "id" : "1700000000000000103"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "120"
      ],
      "favorite_count" : "1",
      "id_str" : "1710000000000000002",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1710000000000000002",
      "created_at" : "Sat Feb 18 19:45:15 +0000 2023",
      "favorited" : false,
      "full_text" : "@chiara_r a post about bridges &amp; rivers",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1710000000000000003"
          ],
          "editableUntil" : "2023-02-18T20:15:15.000Z"
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "Dmitri Kovac",
            "screen_name" : "dmitri_k",
            "indices" : [
              "0",
              "9"
            ],
            "id_str" : "1700000000000000104",
            "id" : "1700000000000000104"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "120"
      ],
      "favorite_count" : "1",
      "id_str" : "1710000000000000003",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1710000000000000003",
      "created_at" : "Sat Feb 18 19:45:15 +0000 2023",
      "favorited" : false,
      "full_text" : "@dmitri_k a post about bridges &amp; rivers",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1710000000000000004"
          ],
          "editableUntil" : "2023-02-18T20:15:15.000Z"
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "Elif Yilmaz",
            "screen_name" : "elif_y",
            "indices" : [
              "0",
              "7"
            ],
            "id_str" : "1700000000000000105",
            "id" : "1700000000000000105"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "120"
      ],
      "favorite_count" : "1",
      "id_str" : "1710000000000000004",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1710000000000000004",
      "created_at" : "Sat Feb 18 19:45:15 +0000 2023",
      "favorited" : false,
      "full_text" : "@elif_y a post about bridges &amp; rivers",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1710000000000000005"
          ],
          "editableUntil" : "2023-02-18T20:15:15.000Z"
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "Fatou Diop",
            "screen_name" : "fatou_d",
            "indices" : [
              "0",
              "8"
            ],
            "id_str" : "1700000000000000106",
            "id" : "1700000000000000106"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "120"
      ],
      "favorite_count" : "1",
      "id_str" : "1710000000000000005",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1710000000000000005",
      "created_at" : "Sat Feb 18 19:45:15 +0000 2023",
      "favorited" : false,
      "full_text" : "@fatou_d a post about bridges &amp; rivers",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1710000000000000006"
          ],
          "editableUntil" : "2023-02-18T20:15:15.000Z"
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "Hugo Tanaka",
            "screen_name" : "hugo_t",
            "indices" : [
              "0",
              "7"
            ],
            "id_str" : "1700000000000000110",
            "id" : "1700000000000000110"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "120"
      ],
      "favorite_count" : "1",
      "id_str" : "1710000000000000006",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1710000000000000006",
      "created_at" : "Sun Feb 19 10:02:41 +0000 2023",
      "favorited" : false,
      "full_text" : "@hugo_t see you at the station market on Saturday",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1710000000000000050"
          ],
          "editableUntil" : "2023-02-18T20:15:15.000Z"
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "120"
      ],
      "favorite_count" : "1",
      "id_str" : "1710000000000000050",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1710000000000000050",
      "created_at" : "Sat Feb 18 19:45:15 +0000 2023",
      "favorited" : false,
      "full_text" : " a post about bridges &amp; rivers",
      "lang" : "en",
      "in_reply_to_status_id_str" : "1710000000000000049",
      "in_reply_to_user_id" : "1700000000000000109",
      "in_reply_to_screen_name" : "ines_c",
      "in_reply_to_user_id_str" : "1700000000000000109"
    }
  }
]